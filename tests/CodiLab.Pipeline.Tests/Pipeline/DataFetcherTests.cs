using System.Net;
using System.Net.Sockets;
using CodiLab.Pipeline.Data;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>fetch-data against a loopback HTTP server serving the shared GSM8K files (or altered copies).</summary>
public sealed class DataFetcherTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    // A free port is found by binding port 0 and releasing it; another process (the other test projects run in parallel)
    // can take it before HttpListener binds, so a port found busy is replaced by a fresh one a few times.
    private static (HttpListener Listener, int Port) StartListener()
    {
        for (int attempt = 1; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return (listener, port);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    private static async Task<T> WithServer<T>(Func<string, byte[]?> respond, Func<string, Task<T>> body)
    {
        var (listener, port) = StartListener();
        using var _ = listener;
        using var stop = new CancellationTokenSource();
        var serve = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await listener.GetContextAsync();
                }
                catch (HttpListenerException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                var bytes = respond(ctx.Request.Url!.AbsolutePath);
                ctx.Response.StatusCode = bytes is null ? 404 : 200;
                if (bytes is not null) await ctx.Response.OutputStream.WriteAsync(bytes);
                ctx.Response.Close();
            }
        });
        try
        {
            return await body($"http://127.0.0.1:{port}/data/");
        }
        finally
        {
            stop.Cancel();
            listener.Stop();
            await serve;
        }
    }

    private static byte[]? Official(string urlPath) =>
        File.ReadAllBytes(Path.Combine(TestPaths.SharedData, "gsm8k", Path.GetFileName(urlPath)));

    [SharedFact]
    public async Task Downloads_both_splits_and_checks_their_hashes()
    {
        var root = Path.Combine(_dir.Path, "data");

        var written = await WithServer(Official, url => DataFetcher.FetchGsm8kAsync(root, url, TextWriter.Null));

        Assert.Equal(2, written.Count);
        Assert.Equal("17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465", Gsm8k.Sha256(Path.Combine(root, "gsm8k", "train.jsonl")));
        Assert.Equal("3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14", Gsm8k.Sha256(Path.Combine(root, "gsm8k", "test.jsonl")));
    }

    [SharedFact]
    public async Task Altered_download_is_rejected_and_the_existing_file_is_kept()
    {
        var root = Path.Combine(_dir.Path, "data");
        var existing = _dir.Write("data/gsm8k/train.jsonl", "keep me\n");

        var error = await Assert.ThrowsAsync<CodiLabException>(() => WithServer(
            p => p.EndsWith("train.jsonl", StringComparison.Ordinal) ? [.. Official(p)!, (byte)'\n'] : Official(p),
            url => DataFetcher.FetchGsm8kAsync(root, url, TextWriter.Null)));

        Assert.Contains("has SHA-256", error.What, StringComparison.Ordinal);
        Assert.Equal("keep me\n", File.ReadAllText(existing));
        Assert.Equal(["train.jsonl"], Directory.GetFiles(Path.Combine(root, "gsm8k")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Unreachable_source_is_a_clear_error()
    {
        var error = await Assert.ThrowsAsync<CodiLabException>(() => WithServer(_ => null,
            url => DataFetcher.FetchGsm8kAsync(Path.Combine(_dir.Path, "data"), url, TextWriter.Null)));

        Assert.Contains("could not download", error.What, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
    }
}
