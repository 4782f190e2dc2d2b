using System.Globalization;

namespace CodiLab.Models.Interventions;

/// <summary>
/// Edge patterns by label, expanded into concrete <see cref="Edge"/>s for N thoughts: <c>QUERY-&gt;KEY</c> where each
/// side is a label (<c>P0</c>, <c>P3</c>, <c>question</c>, <c>BOT</c>, <c>z2</c>, <c>EOT</c>, <c>A1</c>), and
/// <c>z*</c> on the query side means every thought z1..zN; on the key side <c>z*</c> means every thought before a
/// latent query (every thought for any other query) and <c>z*-m</c> the thought m before the query (<c>z*-1</c>: the previous one).
/// Examples: <c>z3-&gt;z1</c>, <c>z*-&gt;BOT</c>, <c>z*-&gt;P0</c>, <c>z*-&gt;question</c>, <c>z*-&gt;z*-1</c>, <c>z*-&gt;z1</c>.
/// </summary>
public static class EdgePattern
{
    /// <summary>The edges of a pattern, or an explanation of why it is not one (then the edges are empty).</summary>
    public static (IReadOnlyList<Edge> Edges, string? Error) Expand(string pattern, int numLatent)
    {
        var parts = pattern.Split("->", StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
            return ([], $"'{pattern}' is not QUERY->KEY");
        var (query, key) = (parts[0], parts[1]);
        if (query.Equals("z*", StringComparison.OrdinalIgnoreCase))
        {
            var edges = new List<Edge>();
            for (int k = 1; k <= numLatent; k++)
            {
                var (keys, error) = Keys(key, k, numLatent);
                if (error is not null) return ([], error);
                edges.AddRange(keys.Select(target => new Edge(Position.Latent(k), target)));
            }
            return edges.Count > 0 ? (edges, null) : ([], $"'{pattern}' names no edge with {numLatent} thoughts");
        }
        if (Position.TryParse(query) is not { } single) return ([], $"'{query}' is not a position label");
        if (key.StartsWith("z*", StringComparison.OrdinalIgnoreCase) && !key.Equals("z*", StringComparison.OrdinalIgnoreCase))
            return ([], $"'{key}' (relative to the query) needs the query z*");
        var (targets, problem) = Keys(key, single.Kind == PositionKind.Latent ? single.Index : 0, numLatent);
        return problem is null ? ([.. targets.Select(t => new Edge(single, t))], null) : ([], problem);
    }

    // The keys of one query thought k (0: the query is not a thought).
    private static (IReadOnlyList<Position> Keys, string? Error) Keys(string key, int k, int numLatent)
    {
        // Every thought before a latent query (all of them for any other query; the validation then checks the order).
        if (key.Equals("z*", StringComparison.OrdinalIgnoreCase))
            return ([.. Enumerable.Range(1, k >= 1 ? k - 1 : numLatent).Select(Position.Latent)], null);
        if (key.StartsWith("z*-", StringComparison.OrdinalIgnoreCase))
        {
            if (!int.TryParse(key.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out var back) || back < 1)
                return ([], $"'{key}' needs a whole number of steps back, at least 1 (z*-1, z*-2, …)");
            return (k - back >= 1 ? [Position.Latent(k - back)] : [], null);
        }
        return Position.TryParse(key) is { } p ? ([p], null) : ([], $"'{key}' is not a position label");
    }
}
