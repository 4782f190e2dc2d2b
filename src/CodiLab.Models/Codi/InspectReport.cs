using CodiLab.Models.Architectures;

namespace CodiLab.Models.Codi;

/// <summary>
/// What loading a model folder did with its checkpoint (the <c>inspect</c> command): the loader's inventory of every key,
/// its notes, and totals computed from them and from the filled network.
/// </summary>
/// <param name="CheckpointPath">The checkpoint file read.</param>
/// <param name="Config">The folder's config.json.</param>
/// <param name="Keys">Every checkpoint key, as the loader classified it.</param>
/// <param name="Notes">The loader's notes (LoRA merge, tied head, appended embedding rows).</param>
/// <param name="ParametersFilled">Network parameters the checkpoint filled.</param>
/// <param name="Values">Scalar values in those parameters.</param>
public sealed record InspectReport(
    string CheckpointPath, ModelConfig Config, IReadOnlyList<KeyReport> Keys, IReadOnlyList<string> Notes,
    int ParametersFilled, long Values)
{
    /// <summary>Keys in the checkpoint.</summary>
    public int TotalKeys => Keys.Count;

    /// <summary>Keys whose values reached a network parameter (copied, transposed, or merged as LoRA factors).</summary>
    public int Consumed => Keys.Count(k => IsConsumed(k.Role));

    /// <summary>Keys read but not put into the network: a stored tied head (the embedding serves) and legacy buffers.</summary>
    public int Unused => Keys.Count(k => !IsConsumed(k.Role));

    /// <summary>How many keys took each role, in the order of <see cref="KeyRole"/>.</summary>
    public IReadOnlyList<(KeyRole Role, int Count)> RoleCounts =>
        [.. Keys.GroupBy(k => k.Role).OrderBy(g => g.Key).Select(g => (g.Key, g.Count()))];

    /// <summary>Whether a key of this role ends up in the network's weights.</summary>
    public static bool IsConsumed(KeyRole role) => role switch
    {
        KeyRole.Parameter or KeyRole.TransposedParameter or KeyRole.LoraFactor => true,
        KeyRole.TiedHead or KeyRole.LegacyBuffer => false,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "a key role without a consumed/unused decision"),
    };

    /// <summary>Loads the folder (as every command does), takes the totals, and releases the network.</summary>
    public static InspectReport Load(string folder, LoadOptions? options = null)
    {
        var loaded = CodiLoader.Load(folder, options);
        using var network = loaded.Network;
        var parameters = network.named_parameters().ToList();
        var values = parameters.Sum(p => p.parameter.numel());
        return new InspectReport(loaded.CheckpointPath, loaded.Config, loaded.Keys, loaded.Notes, parameters.Count, values);
    }
}
