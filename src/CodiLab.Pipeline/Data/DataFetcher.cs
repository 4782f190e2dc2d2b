using CodiLab.Specs;

namespace CodiLab.Pipeline.Data;

/// <summary>
/// Downloads the official GSM8K files into the data root and checks their SHA-256 before putting them in
/// place (temporary file, then rename). A file already present with the right hash is left alone.
/// </summary>
public static class DataFetcher
{
    /// <summary>Fetches train and test; returns the paths written or confirmed.</summary>
    public static async Task<IReadOnlyList<string>> FetchGsm8kAsync(
        string dataRoot, string urlBase, TextWriter log, CancellationToken cancel = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var written = new List<string>();
        foreach (var (split, expected) in SpecSchema.OfficialGsm8kSha256)
        {
            var target = Path.Combine(dataRoot, "gsm8k", $"{split}.jsonl");
            if (File.Exists(target) && Gsm8k.Sha256(target) == expected)
            {
                log.WriteLine($"{target}: present, SHA-256 matches");
                written.Add(target);
                continue;
            }
            var url = urlBase.TrimEnd('/') + $"/{split}.jsonl";
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var temp = $"{target}.download-{Environment.ProcessId}";
            try
            {
                await using (var body = await http.GetStreamAsync(url, cancel))
                await using (var file = File.Create(temp))
                    await body.CopyToAsync(file, cancel);
                var actual = Gsm8k.Sha256(temp);
                if (actual != expected)
                    throw new CodiLabException($"the file downloaded from {url} has SHA-256 {actual}, expected {expected}.", target,
                        "the source changed or the download was altered; get the official file another way and put it there.",
                        ExitCodes.BadInput);
                File.Move(temp, target, overwrite: true);
            }
            catch (HttpRequestException e)
            {
                throw new CodiLabException($"could not download {url} ({e.Message}).", target,
                    "check the network, or copy train.jsonl and test.jsonl there by hand "
                    + "(or point CODILAB_DATA_DIR at a folder holding gsm8k/).",
                    ExitCodes.BadInput, e);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            log.WriteLine($"{target}: downloaded, SHA-256 {expected[..12]}… verified");
            written.Add(target);
        }
        return written;
    }
}
