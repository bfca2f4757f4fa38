#ifndef SR_TESSERACT_H
#define SR_TESSERACT_H
#include <tesseract/capi.h>

typedef struct {
	char *text;
	float conf;
	int x1, y1, x2, y2;
	int block, para, line;
	float skew; // the block's: radians anticlockwise that level its lines
} sr_word;

// sr_recognize OCRs the image set on api and returns its words (free with
// sr_free_words), or -1 if recognition failed.
int sr_recognize(TessBaseAPI *api, sr_word **out);
void sr_free_words(sr_word *w, int n);
#endif
