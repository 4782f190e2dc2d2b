namespace CodiLab.Models.Codi;

/// <summary>
/// How many positions a CODI trace takes, against the base model's limit (GPT-2's <c>n_positions</c>, LLaMA's
/// <c>max_position_embeddings</c>). The prompt (BOT included) sits at 0..P−1, thought k at P−1+k, EOT at P+N and the
/// n-th answer token is fed at P+N+n, so a trace with M answer tokens needs P + N + M positions. A trace that would
/// pass the limit is refused before it starts (GPT-2 has no embedding beyond it; LLaMA was never trained beyond it)
/// rather than cut short: a shortened answer would look like a real one.
/// </summary>
public static class PositionLimit
{
    /// <summary>Positions a trace needs.</summary>
    public static long Needed(int promptTokens, int numLatent, int maxNewTokens) => (long)promptTokens + numLatent + maxNewTokens;

    /// <summary>
    /// Null when the longest prompt fits with <paramref name="maxNewTokens"/> answer tokens; else one sentence saying how far
    /// over it is and the most answer tokens that fit (negative when even the prompt and thoughts do not).
    /// </summary>
    public static string? Problem(CodiModel model, int longestPrompt, int maxNewTokens, string optionName)
    {
        var limit = model.Loaded.Config.MaxPositions;
        var needed = Needed(longestPrompt, model.NumLatent, maxNewTokens);
        if (needed <= limit) return null;
        var name = model.Loaded.Config.Arch == "gpt2" ? "n_positions" : "max_position_embeddings";
        var room = limit - longestPrompt - model.NumLatent;
        var fit = room >= 0
            ? $"at most {room} answer tokens fit ({optionName} {room} or less)"
            : "even the prompt and the thoughts do not fit: shorten the question";
        return $"the trace needs {needed} positions ({longestPrompt} prompt tokens, {model.NumLatent} thoughts, {optionName} "
            + $"{maxNewTokens}) but the model has {limit} ({name} in config.json); {fit}.";
    }
}
