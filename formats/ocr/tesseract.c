#include <stdlib.h>
#include "tesseract.h"

int sr_recognize(TessBaseAPI *api, sr_word **out) {
	*out = NULL;
	if (TessBaseAPIRecognize(api, NULL) != 0) return -1;
	TessResultIterator *ri = TessBaseAPIGetIterator(api);
	if (!ri) return 0;
	TessPageIterator *pi = TessResultIteratorGetPageIterator(ri);
	int n = 0, cap = 0, block = 0, para = 0, line = 0;
	float skew = 0;
	sr_word *words = NULL;
	do {
		char *text = TessResultIteratorGetUTF8Text(ri, RIL_WORD);
		if (!text) continue;
		if (TessPageIteratorIsAtBeginningOf(pi, RIL_BLOCK)) {
			block++, para = 0, line = 0;
			TessOrientation o;
			TessWritingDirection wd;
			TessTextlineOrder order;
			TessPageIteratorOrientation(pi, &o, &wd, &order, &skew);
		}
		if (TessPageIteratorIsAtBeginningOf(pi, RIL_PARA)) para++, line = 0;
		if (TessPageIteratorIsAtBeginningOf(pi, RIL_TEXTLINE)) line++;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			sr_word *grown = realloc(words, cap * sizeof *words);
			if (!grown) {
				TessDeleteText(text);
				break;
			}
			words = grown;
		}
		sr_word *w = &words[n++];
		w->text = text;
		w->conf = TessResultIteratorConfidence(ri, RIL_WORD);
		TessPageIteratorBoundingBox(pi, RIL_WORD, &w->x1, &w->y1, &w->x2, &w->y2);
		w->block = block, w->para = para, w->line = line, w->skew = skew;
	} while (TessResultIteratorNext(ri, RIL_WORD));
	TessResultIteratorDelete(ri);
	*out = words;
	return n;
}

void sr_free_words(sr_word *w, int n) {
	for (int i = 0; i < n; i++) TessDeleteText(w[i].text);
	free(w);
}
