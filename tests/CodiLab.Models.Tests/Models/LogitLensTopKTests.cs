using CodiLab.Models;
using CodiLab.Models.Codi;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Models;

/// <summary>The logit lens's top-k ids at BOT and z1..zN: best first, the top-1 id first, the same batched as alone.</summary>
public sealed class LogitLensTopKTests
{
    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void Top_k_starts_with_the_top_1_id_holds_distinct_ids_and_batches_like_single_runs(string arch)
    {
        TorchRuntime.Initialize();
        using var folder = new TempFolder();
        TinyModel.Write(arch, 42, folder.Path);
        using var model = CodiModel.Load(folder.Path);
        string[] questions =
        [
            "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did she sell?",
            "Tom has 3 apples and buys 4 more. How many apples does he have?",
        ];
        var prompts = questions.Select(q => new CodiModel.Prompt(q, model.PromptIds(q))).ToList();
        var batch = model.TraceBatch(prompts, maxNewTokens: 2);
        for (int i = 0; i < questions.Length; i++)
        {
            var single = model.Trace(questions[i], maxNewTokens: 2);
            var topK = single.LogitLensTopK!;
            Assert.Equal(model.NumLatent + 1, topK.Count);
            for (int p = 0; p < topK.Count; p++)
            {
                Assert.Equal(CodiModel.LogitLensK, topK[p].Length);
                Assert.Equal(single.LogitLensTop1[p], topK[p][0]);
                Assert.Equal(topK[p].Length, topK[p].Distinct().Count());
                Assert.All(topK[p], id => Assert.InRange(id, 0, model.Ids.Eot - 1));
            }
            Assert.Equal(topK.Select(x => string.Join(",", x)), batch[i].LogitLensTopK!.Select(x => string.Join(",", x)));
        }
    }
}
