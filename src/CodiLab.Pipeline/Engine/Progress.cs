using System.Diagnostics;
using System.Globalization;

namespace CodiLab.Pipeline.Engine;

/// <summary>
/// Where long work (a model load, an extraction, a Phase 3 sweep) reports how far it is. The drivers only call
/// <see cref="Start"/> and <see cref="TrackedWork.Update"/>; the command line picks how it is shown: a live display on a
/// terminal, plain periodic lines (<see cref="PlainProgress"/>) in a log or under CI, or nothing (<see cref="None"/>).
/// </summary>
public abstract class ProgressReporter
{
    /// <summary>Shows nothing (tests, benchmarks, nested runs).</summary>
    public static ProgressReporter None { get; } = new Silent();

    /// <summary>
    /// Starts tracking one piece of work of <paramref name="total"/> units (0 or less: of unknown length, e.g. a model
    /// load); dispose the result (or call <see cref="TrackedWork.Complete"/>) when it ends.
    /// </summary>
    /// <param name="label">What is running, e.g. <c>[tiny-llama] extract</c>.</param>
    /// <param name="total">Units of work in all.</param>
    /// <param name="unit">The unit's plural, e.g. <c>problems</c>.</param>
    public abstract TrackedWork Start(string label, int total, string unit);

    private sealed class Silent : ProgressReporter
    {
        public override TrackedWork Start(string label, int total, string unit) => new Quiet(label, total, unit);

        private sealed class Quiet(string label, int total, string unit) : TrackedWork(label, total, unit)
        {
            protected override void Show(ProgressSnapshot snapshot, bool final)
            {
            }
        }
    }
}

/// <summary>
/// One tracked piece of work. The base class keeps the counts and computes rate and ETA from the units actually
/// computed (units resumed from a scratch folder or read from the cache finish instantly and would inflate the rate);
/// a display only decides when and how to show a <see cref="ProgressSnapshot"/>.
/// </summary>
public abstract class TrackedWork : IDisposable
{
    private readonly Func<TimeSpan> _clock;
    private readonly TimeSpan _started;
    private ProgressSnapshot _last;
    private bool _completed;

    /// <summary>Starts the clock (<paramref name="clock"/>: time since any fixed origin; default a stopwatch).</summary>
    protected TrackedWork(string label, int total, string unit, Func<TimeSpan>? clock = null)
    {
        _clock = clock ?? StopwatchClock();
        _started = _clock();
        _last = new ProgressSnapshot(label, 0, Math.Max(total, 0), unit, 0, null, null, TimeSpan.Zero);
    }

    /// <summary>The latest state.</summary>
    public ProgressSnapshot Current => _last;

    /// <summary>Time since the work started.</summary>
    protected TimeSpan Elapsed => _clock() - _started;

    private static Func<TimeSpan> StopwatchClock()
    {
        var watch = Stopwatch.StartNew();
        return () => watch.Elapsed;
    }

    /// <summary>
    /// Records that <paramref name="done"/> units are finished, <paramref name="skipped"/> of them without work (resumed or
    /// cached); <paramref name="batch"/> is the current batch size and <paramref name="detail"/> names the current item.
    /// </summary>
    public void Update(int done, int skipped = 0, int? batch = null, string? detail = null)
    {
        if (_completed) return;
        _last = _last with { Done = done, Skipped = skipped, Batch = batch ?? _last.Batch, Detail = detail ?? _last.Detail, Elapsed = Elapsed };
        Show(_last, final: false);
    }

    /// <summary>Ends the work and shows its final state once (later calls do nothing).</summary>
    public void Complete()
    {
        if (_completed) return;
        _completed = true;
        _last = _last with { Elapsed = Elapsed };
        Show(_last, final: true);
    }

    /// <summary>Same as <see cref="Complete"/>.</summary>
    public void Dispose()
    {
        Complete();
        GC.SuppressFinalize(this);
    }

    /// <summary>Shows a state; <paramref name="final"/> is true exactly once, at the end.</summary>
    protected abstract void Show(ProgressSnapshot snapshot, bool final);
}

/// <summary>A tracked work's state at one moment.</summary>
/// <param name="Label">What is running.</param>
/// <param name="Done">Units finished.</param>
/// <param name="Total">Units in all (0: unknown).</param>
/// <param name="Unit">The unit's plural.</param>
/// <param name="Skipped">Finished units that were resumed or cached (not counted in the rate).</param>
/// <param name="Batch">The current batch size, when batched.</param>
/// <param name="Detail">The current item, e.g. a condition's name.</param>
/// <param name="Elapsed">Time since the start.</param>
public readonly record struct ProgressSnapshot(
    string Label, int Done, int Total, string Unit, int Skipped, int? Batch, string? Detail, TimeSpan Elapsed)
{
    /// <summary>Units per second over the units actually computed; 0 before any.</summary>
    public double Rate => Elapsed.TotalSeconds > 0 ? Math.Max(Done - Skipped, 0) / Elapsed.TotalSeconds : 0;

    /// <summary>Time left at the current rate; null when unknown.</summary>
    public TimeSpan? Eta => Total > 0 && Rate > 0 ? TimeSpan.FromSeconds((Total - Done) / Rate) : null;

    /// <summary>
    /// The state as one plain line, e.g. <c>[tiny-llama] extract: 64/100 problems, 1.4 problems/s, ETA 25 s, batch 16</c>,
    /// or <c>[tiny-llama] extract: loading the model (12 s so far)</c> for work of unknown length.
    /// </summary>
    public string Describe(bool final = false)
    {
        var c = CultureInfo.InvariantCulture;
        var what = Detail is null ? "" : $" ({Detail})";
        if (Total == 0) return final ? $"{Label}{what} took {Seconds(Elapsed)}" : $"{Label}{what} ({Seconds(Elapsed)} so far)";
        var line = string.Create(c, $"{Label}: {Done}/{Total} {Unit}");
        if (Skipped > 0) line += string.Create(c, $" ({Skipped} reused)");
        if (Done > Skipped) line += string.Create(c, $", {Rate:0.0#} {Unit}/s");
        line += final ? $", {Seconds(Elapsed)}" : Eta is { } eta ? $", ETA {Seconds(eta)}" : "";
        if (Batch is { } b) line += string.Create(c, $", batch {b}");
        return line + (final ? "" : what);
    }

    /// <summary>A duration as people read it: 4.2 s, 47 s, 3 min 05 s, 1 h 02 min.</summary>
    public static string Seconds(TimeSpan t) => t.TotalSeconds switch
    {
        < 10 => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.0} s"),
        < 60 => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0} s"),
        < 3600 => string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes} min {t.Seconds:00} s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours} h {t.Minutes:00} min"),
    };
}

/// <summary>
/// Progress for logs and CI: plain lines (no escape codes), at most one every <see cref="Interval"/> or each time another
/// tenth of the total is done, whichever comes first, and a last line when the work ends. Work of unknown length (a model
/// load) gets a line every interval while it lasts, from a timer, and a last line only if it lasted that long: a load
/// of a second is not worth a line.
/// </summary>
/// <param name="log">Where the lines go.</param>
/// <param name="interval">The longest silence while work runs (default 10 s).</param>
/// <param name="clock">Time since any fixed origin (default a stopwatch); tests drive it by hand.</param>
public sealed class PlainProgress(TextWriter log, TimeSpan? interval = null, Func<TimeSpan>? clock = null) : ProgressReporter
{
    /// <summary>The longest silence while work runs.</summary>
    public TimeSpan Interval { get; } = interval ?? TimeSpan.FromSeconds(10);

    /// <inheritdoc/>
    public override TrackedWork Start(string label, int total, string unit) => new Lines(this, label, total, unit, clock);

    private void Write(string line)
    {
        lock (log) log.WriteLine(line);
    }

    private sealed class Lines : TrackedWork
    {
        private readonly PlainProgress _owner;
        private readonly Timer? _heartbeat;
        private TimeSpan _lastShown;
        private int _lastTenth, _shown;

        public Lines(PlainProgress owner, string label, int total, string unit, Func<TimeSpan>? clock) : base(label, total, unit, clock)
        {
            _owner = owner;
            if (total > 0) return;
            // Nothing calls Update while a model loads, so a timer says it is still going.
            _heartbeat = new Timer(_ => Beat(), null, owner.Interval, owner.Interval);
        }

        // A heartbeat is an update that changes nothing but the time.
        private void Beat() => Update(0);

        protected override void Show(ProgressSnapshot s, bool final)
        {
            if (final)
            {
                _heartbeat?.Dispose();
                if (s.Total > 0 || _shown > 0) _owner.Write(s.Describe(final: true));
                return;
            }
            var tenth = s.Total > 0 ? s.Done * 10 / s.Total : 0;
            if (s.Elapsed - _lastShown < _owner.Interval && tenth == _lastTenth) return;
            if (s.Total > 0 && s.Done >= s.Total) return; // the final line follows
            (_lastShown, _lastTenth) = (s.Elapsed, tenth);
            _shown++;
            _owner.Write(s.Describe());
        }
    }
}
