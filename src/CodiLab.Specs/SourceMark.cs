namespace CodiLab.Specs;

/// <summary>A position in a spec file (1-based line and column).</summary>
public readonly record struct SourceMark(string File, int Line, int Column)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>One problem found in a spec.</summary>
public sealed record SpecDiagnostic(SourceMark Mark, string Message, string Fix)
{
    /// <inheritdoc />
    public override string ToString() => $"{Mark}: {Message} Fix: {Fix}";
}

/// <summary>A spec that failed to load or validate; carries every problem found, each with its position.</summary>
public sealed class SpecException : CodiLabException
{
    /// <summary>Creates the error from its diagnostics (at least one).</summary>
    public SpecException(IReadOnlyList<SpecDiagnostic> diagnostics)
        : base(string.Join(Environment.NewLine, diagnostics.Select(d => d.ToString())), exitCode: ExitCodes.InvalidSpec)
    {
        Diagnostics = diagnostics;
    }

    /// <summary>Creates the error from one problem.</summary>
    public SpecException(SourceMark mark, string message, string fix) : this([new SpecDiagnostic(mark, message, fix)])
    {
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<SpecDiagnostic> Diagnostics { get; }
}
