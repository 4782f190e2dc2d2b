using CodiLab.Reports;
using SkiaSharp;
using Xunit;

namespace CodiLab.Tests.Support;

/// <summary>
/// Checks on a decoded figure PNG (for test projects that reach CodiLab.Reports, hence SkiaSharp): its size follows
/// the panel grid <see cref="FigureKit"/> composes, each panel is drawn and each spare grid slot is left white.
/// </summary>
public static class PngAssert
{
    /// <summary>The title band above the panels: FigureKit's private header height, which its API does not expose.</summary>
    public const int TitleBand = 50;

    /// <summary>
    /// Width = columns × <see cref="FigureKit.PanelWidth"/>, height = title band + rows × <see cref="FigureKit.PanelHeight"/>;
    /// the title band has text; each of the first <paramref name="panels"/> slots has more than 16 colours; the rest are one colour.
    /// </summary>
    public static void PanelGrid(byte[] png, int panels, int columns, string what)
    {
        using var bitmap = SKBitmap.Decode(png);
        Assert.True(bitmap is not null, $"{what} is not a PNG");
        var rows = (panels + columns - 1) / columns;
        Assert.Equal((columns * FigureKit.PanelWidth, TitleBand + rows * FigureKit.PanelHeight), (bitmap.Width, bitmap.Height));
        var pixels = bitmap.Pixels;
        Assert.True(Colours(pixels, bitmap.Width, 0, 0, bitmap.Width, TitleBand) > 2, $"{what}: no title");
        for (int slot = 0; slot < rows * columns; slot++)
        {
            var (x, y) = (slot % columns * FigureKit.PanelWidth, TitleBand + slot / columns * FigureKit.PanelHeight);
            var colours = Colours(pixels, bitmap.Width, x, y, FigureKit.PanelWidth, FigureKit.PanelHeight);
            if (slot < panels) Assert.True(colours > 16, $"{what}: panel {slot} has {colours} colours (blank?)");
            else Assert.True(colours == 1, $"{what}: spare slot {slot} is not blank ({colours} colours)");
        }
    }

    /// <summary>The same, for a PNG file.</summary>
    public static void PanelGrid(string path, int panels, int columns) => PanelGrid(File.ReadAllBytes(path), panels, columns, path);

    private static int Colours(SKColor[] pixels, int width, int x0, int y0, int w, int h)
    {
        var set = new HashSet<SKColor>();
        for (int y = y0; y < y0 + h; y++)
            for (int x = x0; x < x0 + w; x++) set.Add(pixels[y * width + x]);
        return set.Count;
    }
}
