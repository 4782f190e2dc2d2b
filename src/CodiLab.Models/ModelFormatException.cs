namespace CodiLab.Models;

/// <summary>
/// A model folder that cannot be used as it is: a truncated or malformed file, a missing or unexpected key,
/// a wrong shape or dtype, a tokenizer that does not fit the vocabulary. Says which file (and key) and how to fix it.
/// </summary>
public sealed class ModelFormatException(string what, string where, string fix, Exception? inner = null)
    : CodiLabException(what, where, fix, ExitCodes.BadInput, inner);
