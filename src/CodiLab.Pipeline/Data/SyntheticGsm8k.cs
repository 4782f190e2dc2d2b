using System.Globalization;

namespace CodiLab.Pipeline.Data;

/// <summary>
/// A GSM8K-style word-problem set generated from a seed, for the embedded default specs: same record shape
/// (question, worked answer with <c>&lt;&lt;a+b=c&gt;&gt;</c> calculations and a final <c>#### n</c> line), no
/// download needed. Deterministic for a seed and size.
/// </summary>
public static class SyntheticGsm8k
{
    private static readonly string[] Names =
    [
        "Ava",
        "Ben",
        "Chloe",
        "Diego",
        "Emma",
        "Farid",
        "Grace",
        "Hiro",
        "Isla",
        "Jamal",
        "Kira",
        "Liam",
        "Mia",
        "Noah",
        "Olga",
        "Priya",
    ];
    private static readonly string[] Items = ["apples", "marbles", "stickers", "books", "pencils", "cookies", "shells", "cards"];

    /// <summary>Generates <paramref name="count"/> problems.</summary>
    public static IReadOnlyList<Gsm8kProblem> Generate(long seed, int count)
    {
        var rng = new PyRandom((ulong)seed);
        var problems = new List<Gsm8kProblem>(count);
        for (int i = 0; i < count; i++) problems.Add(Make(rng));
        return problems;
    }

    private static Gsm8kProblem Make(PyRandom rng)
    {
        string name = rng.Choice(Names), item = rng.Choice(Items);
        long a = rng.RandInt(2, 40), b = rng.RandInt(2, 30), c = rng.RandInt(2, 9);
        switch (rng.RandBelow(4))
        {
            case 0:
            {
                long give = rng.RandInt(1, a + b - 1), left = a + b - give;
                return P(
                    $"{name} has {a} {item}. {name} buys {b} more {item} and then gives {give} to a friend. "
                    + $"How many {item} does {name} have now?",
                    $"{name} has {a}+{b}=<<{a}+{b}={a + b}>>{a + b} {item} after buying.\n"
                    + $"{name} gives away {give}, leaving {a + b}-{give}=<<{a + b}-{give}={left}>>{left}.",
                    left);
            }
            case 1:
            {
                long total = a * c;
                return P($"A shop sells {item} for ${c} each. {name} buys {a} {item}. How much does {name} spend?",
                    $"{name} spends {a}*{c}=<<{a}*{c}={total}>>{total} dollars.", total);
            }
            case 2:
            {
                long perDay = b, days = c, total = perDay * days + a;
                return P(
                    $"{name} already has {a} {item} and collects {perDay} more every day for {days} days. "
                    + $"How many {item} does {name} have in the end?",
                    $"Over {days} days {name} collects {perDay}*{days}=<<{perDay}*{days}={perDay * days}>>{perDay * days}.\n"
                    + $"In the end {name} has {a}+{perDay * days}=<<{a}+{perDay * days}={total}>>{total}.",
                    total);
            }
            default:
            {
                long groups = c, each = rng.RandInt(2, 12), total = groups * each, extra = rng.RandInt(0, each - 1), all = total + extra;
                return P($"{name} puts {all} {item} into bags of {each}. How many full bags does {name} make?",
                    $"{all} divided by {each} is {groups} with {extra} left over, "
                    + $"so {name} makes <<{total}/{each}={groups}>>{groups} full bags.",
                    groups);
            }
        }
    }

    private static Gsm8kProblem P(string question, string work, long answer) =>
        new(question, $"{work}\n#### {answer.ToString(CultureInfo.InvariantCulture)}");
}
