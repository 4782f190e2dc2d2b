using CodiLab.Pipeline.Engine;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>Plain progress lines (logs, CI) driven by a fake driver on a hand-set clock.</summary>
public sealed class ProgressTests
{
    private TimeSpan _now;

    private PlainProgress Reporter(StringWriter log) => new(log, TimeSpan.FromSeconds(10), () => _now);

    private static string[] Lines(StringWriter log) => log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Batches_print_a_line_per_tenth_or_per_interval_and_one_final_line_without_escape_codes()
    {
        var log = new StringWriter();
        using (var work = Reporter(log).Start("[exp] extract", 100, "problems"))
        {
            // A fake driver: batches of 4 problems, 0.4 s each; the first 8 problems were resumed from a scratch folder.
            work.Update(8, skipped: 8, batch: 4);
            for (int done = 12; done <= 100; done += 4)
            {
                _now += TimeSpan.FromSeconds(0.4);
                work.Update(done, skipped: 8, batch: 4);
            }
        }

        var lines = Lines(log);
        // Tenths 1..9 each once (8 resumed problems are tenth 0), no line at 100/100, then the final line.
        Assert.Equal(10, lines.Length);
        Assert.All(lines, l => Assert.DoesNotContain('\u001b', l));
        Assert.All(lines, l => Assert.StartsWith("[exp] extract: ", l, StringComparison.Ordinal));
        Assert.Equal("[exp] extract: 12/100 problems (8 reused), 10.0 problems/s, ETA 8.8 s, batch 4", lines[0]);
        Assert.Equal("[exp] extract: 100/100 problems (8 reused), 10.0 problems/s, 9.2 s, batch 4", lines[^1]);
    }

    [Fact]
    public void A_slow_batch_within_the_same_tenth_prints_once_the_interval_has_passed()
    {
        var log = new StringWriter();
        var work = Reporter(log).Start("[exp] interventions", 1000, "conditions");

        _now = TimeSpan.FromSeconds(4);
        work.Update(1, detail: "top-1");
        _now = TimeSpan.FromSeconds(9);
        work.Update(2, detail: "top-3");
        _now = TimeSpan.FromSeconds(11);
        work.Update(3, detail: "top-10");

        Assert.Equal(["[exp] interventions: 3/1000 conditions, 0.27 conditions/s, ETA 1 h 00 min (top-10)"], Lines(log));
        work.Complete();
        work.Complete();
        Assert.Equal(2, Lines(log).Length);
    }

    [Fact]
    public void Work_of_unknown_length_is_silent_when_short_and_says_how_long_it_took_when_it_was_not()
    {
        var quick = new StringWriter();
        using (Reporter(quick).Start("[exp] extract: loading the model", 0, ""))
            _now += TimeSpan.FromSeconds(2);
        Assert.Empty(quick.ToString());

        var slow = new StringWriter();
        using (var load = Reporter(slow).Start("[exp] extract: loading the model", 0, ""))
        {
            _now += TimeSpan.FromSeconds(12);
            load.Update(0); // what the heartbeat timer does
            _now += TimeSpan.FromSeconds(34);
        }
        Assert.Equal(["[exp] extract: loading the model (12 s so far)", "[exp] extract: loading the model took 46 s"], Lines(slow));
    }

    [Fact]
    public void The_silent_reporter_prints_nothing_and_still_counts()
    {
        var work = ProgressReporter.None.Start("x", 10, "problems");
        work.Update(5, batch: 2);
        Assert.Equal(5, work.Current.Done);
        Assert.Equal(2, work.Current.Batch);
    }
}
