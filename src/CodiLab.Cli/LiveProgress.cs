using System.Text;
using CodiLab.Pipeline.Engine;
using Spectre.Console;

namespace CodiLab.Cli;

/// <summary>
/// Progress on a terminal: a Spectre.Console live display (bar, spinner, done/total, rate, ETA, batch size) that runs
/// while any tracked work is open and disappears when the last one ends, leaving one summary line per work. Log lines
/// written meanwhile must go through <see cref="Log"/>, which prints them above the display instead of through it.
/// </summary>
internal sealed class LiveProgress : ProgressReporter
{
    private readonly IAnsiConsole _console;
    private readonly object _gate = new();
    private readonly List<Work> _open = [];
    private Thread? _loop;
    private ProgressContext? _context;
    private ManualResetEventSlim? _stop;

    /// <summary>A live display on <paramref name="console"/>.</summary>
    public LiveProgress(IAnsiConsole console)
    {
        _console = console;
        Log = new ConsoleLines(console);
    }

    /// <summary>
    /// Whether to show a live display: stdout is the process's own, a terminal, not a dumb one, and not under CI
    /// (<c>CI=true</c>, as GitHub Actions and most CI services set it), where plain lines read better in the saved log.
    /// </summary>
    public static bool Wanted(TextWriter stdout) =>
        ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected
        && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)
        && Environment.GetEnvironmentVariable("TERM") != "dumb";

    /// <summary>The log writer to use while this display may be live.</summary>
    public TextWriter Log { get; }

    /// <inheritdoc/>
    public override TrackedWork Start(string label, int total, string unit)
    {
        lock (_gate)
        {
            var context = _context ?? Begin();
            var task = context.AddTask(Markup.Escape(label), maxValue: Math.Max(total, 1));
            task.IsIndeterminate = total <= 0;
            var work = new Work(this, task, label, total, unit);
            _open.Add(work);
            return work;
        }
    }

    // Starts the display on its own thread (Spectre's Progress.Start blocks until its action returns) and waits for its context.
    private ProgressContext Begin()
    {
        var ready = new ManualResetEventSlim();
        var stop = new ManualResetEventSlim();
        _loop = new Thread(() => _console.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            // The description (done/total, rate, ETA, batch) goes last, so a narrow terminal wraps the text, not the columns.
            .Columns(new SpinnerColumn(), new PercentageColumn(), new ProgressBarColumn { Width = 20 },
                new TaskDescriptionColumn { Alignment = Justify.Left })
            .Start(context =>
            {
                _context = context;
                ready.Set();
                stop.Wait();
            }))
        { IsBackground = true, Name = "codilab progress" };
        _loop.Start();
        ready.Wait();
        _stop = stop;
        return _context!;
    }

    // The last open work ended: stop the display and wait until it has cleared itself, so what follows is printed below it.
    private void Finished(Work work, ProgressSnapshot last, bool worthALine)
    {
        lock (_gate)
        {
            _open.Remove(work);
            if (_open.Count == 0 && _loop is not null)
            {
                _stop!.Set();
                _loop.Join();
                (_loop, _context, _stop) = (null, null, null);
            }
        }
        if (worthALine) _console.WriteLine(last.Describe(final: true));
    }

    private sealed class Work(LiveProgress owner, ProgressTask task, string label, int total, string unit)
        : TrackedWork(label, total, unit)
    {
        protected override void Show(ProgressSnapshot s, bool final)
        {
            if (!final)
            {
                task.Description = Markup.Escape(s.Describe());
                if (s.Total > 0) task.Value = s.Done;
                return;
            }
            task.StopTask();
            // Work of unknown length (a model load) leaves a line only when it took long enough to be worth one.
            owner.Finished(this, s, s.Total > 0 || s.Elapsed >= TimeSpan.FromSeconds(10));
        }
    }

    // A TextWriter whose lines go through the console, so the live display moves them above itself.
    private sealed class ConsoleLines(IAnsiConsole console) : TextWriter
    {
        private readonly StringBuilder _pending = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_pending)
            {
                if (value == '\n')
                {
                    console.WriteLine(_pending.ToString().TrimEnd('\r'));
                    _pending.Clear();
                }
                else _pending.Append(value);
            }
        }

        public override void WriteLine(string? value)
        {
            lock (_pending)
            {
                console.WriteLine(_pending.Append(value).ToString());
                _pending.Clear();
            }
        }
    }
}
