package alto

import (
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/strongroom-archive/strongroom/formats/testenv"

	"github.com/strongroom-archive/strongroom/formats/ocr"
)

// TestValidatesAgainstALTO44 validates what we write with xmllint against
// the ALTO 4.4 schema in shared/schemas, offline through its catalog.
func TestValidatesAgainstALTO44(t *testing.T) {
	schemas := testenv.Shared(t, "schemas")
	testenv.Tool(t, "xmllint")
	words := []ocr.Word{
		{Text: "Parish", Box: image.Rect(100, 100, 220, 140), Confidence: 96.5, Block: 1, Paragraph: 1, Line: 1},
		{Text: "register", Box: image.Rect(230, 100, 380, 140), Confidence: 91, Block: 1, Paragraph: 1, Line: 1},
		{Text: "1801 & <co>", Box: image.Rect(100, 160, 300, 200), Confidence: 88, Block: 1, Paragraph: 1, Line: 2},
		{Text: "Item", Box: image.Rect(100, 400, 180, 440), Confidence: 90, Block: 2, Paragraph: 1, Line: 1},
	}
	p := filepath.Join(t.TempDir(), "page.alto.xml")
	f, _ := os.Create(p)
	if err := Write(f, []Page{{Width: 2480, Height: 3508, Words: words, Source: "p1.tif"}, {Width: 2480, Height: 3508, Source: "p2.tif (blank)"}}, "tesseract", "5.3.0"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command("xmllint", "--nonet", "--noout", "--schema", filepath.Join(schemas, "alto-4-4.xsd"), p)
	cmd.Env = append(os.Environ(), "XML_CATALOG_FILES="+filepath.Join(schemas, "catalog.xml"))
	if out, err := cmd.CombinedOutput(); err != nil {
		b, _ := os.ReadFile(p)
		t.Fatalf("xmllint: %v\n%s\n%s", err, out, b)
	}
}
