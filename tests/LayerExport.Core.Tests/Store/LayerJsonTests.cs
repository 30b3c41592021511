using System.Text;
using LayerExport.Core.Store;

namespace LayerExport.Core.Tests.Store;

/// <summary>Which layer.json files name a parent, and which are refused.</summary>
public sealed class LayerJsonTests
{
    private static readonly LayerId Id = LayerId.Parse("child");

    // Valid JSON that is not an object has no "parent" to look up; it is refused by name, not left to fail as an
    // unhandled error of the JSON API.
    [Theory]
    [InlineData("[]")]
    [InlineData("\"base\"")]
    [InlineData("null")]
    [InlineData("5")]
    public void JsonThatIsNotAnObjectIsInconsistent(string json)
    {
        var error = Assert.Throws<LayerStoreCorruptException>(() => LayerJson.ReadParent(Id, Encoding.UTF8.GetBytes(json)));

        Assert.Equal("Layer 'child': layer.json is not a JSON object.", error.Message);
    }
}
