package iiif

import "fmt"

// SearchLD is the Content Search API 2.0's @context.
const SearchLD = "http://iiif.io/api/search/2/context.json"

// SearchPage is a Content Search 2.0 answer: the matched words as
// highlighting annotations on their canvases, and the text around each
// as contextualizing annotations.
type SearchPage struct {
	Context     string           `json:"@context"`
	ID          string           `json:"id"`
	Type        string           `json:"type"`
	Items       []SearchHit      `json:"items"`
	Annotations []SearchContexts `json:"annotations,omitempty"`
}

// SearchHit is one matched word on a canvas.
type SearchHit struct {
	ID         string      `json:"id"`
	Type       string      `json:"type"`
	Motivation string      `json:"motivation"`
	Body       TextualBody `json:"body"`
	Target     string      `json:"target"`
}

// TextualBody is an annotation's text.
type TextualBody struct {
	Type   string `json:"type"`
	Value  string `json:"value"`
	Format string `json:"format"`
}

// SearchContexts holds the text around the hits.
type SearchContexts struct {
	Type  string          `json:"type"`
	Items []SearchContext `json:"items"`
}

// SearchContext is the text before and after one hit.
type SearchContext struct {
	ID         string        `json:"id"`
	Type       string        `json:"type"`
	Motivation string        `json:"motivation"`
	Target     ContextTarget `json:"target"`
}

// ContextTarget points at a hit with the quote around it.
type ContextTarget struct {
	Type     string          `json:"type"`
	Source   string          `json:"source"`
	Selector []QuoteSelector `json:"selector"`
}

// QuoteSelector is the hit's word with what comes before and after.
type QuoteSelector struct {
	Type   string `json:"type"`
	Prefix string `json:"prefix"`
	Exact  string `json:"exact"`
	Suffix string `json:"suffix"`
}

// Highlight is the highlighting annotation of word at x, y, w, h on canvas.
func Highlight(id, canvas, word string, x, y, w, h int) SearchHit {
	return SearchHit{ID: id, Type: "Annotation", Motivation: "highlighting", Body: TextualBody{Type: "TextualBody", Value: word, Format: "text/plain"},
		Target: fmt.Sprintf("%s#xywh=%d,%d,%d,%d", canvas, x, y, w, h)}
}

// TermPage is an autocomplete answer.
type TermPage struct {
	Context string `json:"@context"`
	ID      string `json:"id"`
	Type    string `json:"type"`
	Items   []Term `json:"items"`
}

// Term is one completion and how often it occurs.
type Term struct {
	Value string `json:"value"`
	Total int    `json:"total"`
}

// SearchV1Profile is the Content Search API 1.0's profile: what Mirador 4
// (the viewer strongroom serves) looks a manifest's search service up by.
const SearchV1Profile = "http://iiif.io/api/search/1/search"

// ServiceV1 is a service of the older specifications' form (@id, @type,
// profile), which Presentation 3.0 clients are to recognise.
type ServiceV1 struct {
	ID      string `json:"@id"`
	Type    string `json:"@type"`
	Profile string `json:"profile"`
}

// SearchV1 is a Content Search 1.0 answer: an annotation list of the
// matched words on their canvases, and the hits with the text around them.
type SearchV1 struct {
	Context   []string       `json:"@context"`
	ID        string         `json:"@id"`
	Type      string         `json:"@type"`
	Resources []AnnotationV1 `json:"resources"`
	Hits      []HitV1        `json:"hits"`
}

// AnnotationV1 is one matched word on its canvas (on: CANVAS#xywh=…).
type AnnotationV1 struct {
	ID         string  `json:"@id"`
	Type       string  `json:"@type"`
	Motivation string  `json:"motivation"`
	Resource   CharsV1 `json:"resource"`
	On         string  `json:"on"`
}

// CharsV1 is an annotation's text.
type CharsV1 struct {
	Type  string `json:"@type"`
	Chars string `json:"chars"`
}

// HitV1 ties annotations to the match and the text around it.
type HitV1 struct {
	Type        string   `json:"@type"`
	Annotations []string `json:"annotations"`
	Match       string   `json:"match"`
	Before      string   `json:"before"`
	After       string   `json:"after"`
}

// ToV1 is a 2.0 answer in the 1.0 form, at id.
func (p SearchPage) ToV1(id string) SearchV1 {
	out := SearchV1{Context: []string{"http://iiif.io/api/presentation/2/context.json", "http://iiif.io/api/search/1/context.json"},
		ID: id, Type: "sc:AnnotationList", Resources: []AnnotationV1{}, Hits: []HitV1{}}
	quotes := map[string]QuoteSelector{}
	for _, a := range p.Annotations {
		for _, c := range a.Items {
			if len(c.Target.Selector) > 0 {
				quotes[c.Target.Source] = c.Target.Selector[0]
			}
		}
	}
	for _, h := range p.Items {
		out.Resources = append(out.Resources, AnnotationV1{ID: h.ID, Type: "oa:Annotation", Motivation: "sc:painting",
			Resource: CharsV1{Type: "cnt:ContentAsText", Chars: h.Body.Value}, On: h.Target})
		q := quotes[h.ID]
		out.Hits = append(out.Hits, HitV1{Type: "search:Hit", Annotations: []string{h.ID}, Match: h.Body.Value, Before: q.Prefix, After: q.Suffix})
	}
	return out
}
