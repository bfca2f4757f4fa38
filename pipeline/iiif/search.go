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
