#include <string.h>
#include "raster.h"

static int is_grey32(PIX *pix) {
	l_int32 w = pixGetWidth(pix), h = pixGetHeight(pix), wpl = pixGetWpl(pix);
	l_uint32 *data = pixGetData(pix);
	for (l_int32 y = 0; y < h; y++) {
		l_uint32 *line = data + (size_t)y * wpl;
		for (l_int32 x = 0; x < w; x++) {
			l_int32 r, g, b;
			extractRGBValues(line[x], &r, &g, &b);
			if (r != g || g != b) return 0;
		}
	}
	return 1;
}

static int is_bilevel8(PIX *pix) {
	l_int32 w = pixGetWidth(pix), h = pixGetHeight(pix), wpl = pixGetWpl(pix);
	l_uint32 *data = pixGetData(pix);
	for (l_int32 y = 0; y < h; y++) {
		l_uint32 *line = data + (size_t)y * wpl;
		for (l_int32 x = 0; x < w; x++) {
			l_int32 v = GET_DATA_BYTE(line, x);
			if (v != 0 && v != 255) return 0;
		}
	}
	return 1;
}

static PIX *replace(PIX *old, PIX *new) {
	if (new && new != old) pixDestroy(&old);
	return new;
}

PIX *sr_normalise(PIX *pix) {
	if (!pix) return NULL;
	if (pixGetColormap(pix)) pix = replace(pix, pixRemoveColormap(pix, REMOVE_CMAP_BASED_ON_SRC));
	if (!pix) return NULL;
	l_int32 d = pixGetDepth(pix);
	if (d == 32 && pixGetSpp(pix) == 4) {
		pix = replace(pix, pixAlphaBlendUniform(pix, 0xffffff00));
		if (!pix) return NULL;
		pixSetSpp(pix, 3);
	}
	switch (d) {
	case 1:
		return pix;
	case 2:
	case 4:
		pix = replace(pix, pixConvertTo8(pix, 0));
		break;
	case 16:
		pix = replace(pix, pixConvert16To8(pix, L_MS_BYTE));
		break;
	case 24:
		pix = replace(pix, pixConvertTo32(pix));
		break;
	}
	if (!pix) return NULL;
	if (pixGetDepth(pix) == 32 && is_grey32(pix)) pix = replace(pix, pixConvertRGBToLuminance(pix));
	if (pix && pixGetDepth(pix) == 8 && is_bilevel8(pix)) pix = replace(pix, pixThresholdToBinary(pix, 128));
	return pix;
}

void sr_rows(PIX *pix, uint8_t *out) {
	l_int32 w = pixGetWidth(pix), h = pixGetHeight(pix), wpl = pixGetWpl(pix), d = pixGetDepth(pix);
	l_uint32 *data = pixGetData(pix);
	for (l_int32 y = 0; y < h; y++) {
		l_uint32 *line = data + (size_t)y * wpl;
		switch (d) {
		case 1: {
			l_int32 n = (w + 7) / 8;
			for (l_int32 i = 0; i < n; i++) *out++ = ~GET_DATA_BYTE(line, i);
			if (w % 8) out[-1] |= 0xff >> (w % 8); // padding bits white
			break;
		}
		case 8:
			for (l_int32 x = 0; x < w; x++) *out++ = GET_DATA_BYTE(line, x);
			break;
		default:
			for (l_int32 x = 0; x < w; x++) {
				l_int32 r, g, b;
				extractRGBValues(line[x], &r, &g, &b);
				*out++ = r;
				*out++ = g;
				*out++ = b;
			}
		}
	}
}

PIX *sr_from_rows(const uint8_t *data, int w, int h, int channels, int stride) {
	PIX *pix = pixCreate(w, h, channels == 1 ? 8 : 32);
	if (!pix) return NULL;
	l_int32 wpl = pixGetWpl(pix);
	l_uint32 *pd = pixGetData(pix);
	for (int y = 0; y < h; y++) {
		const uint8_t *row = data + (size_t)y * stride;
		l_uint32 *line = pd + (size_t)y * wpl;
		for (int x = 0; x < w; x++) {
			if (channels == 1) SET_DATA_BYTE(line, x, row[x]);
			else composeRGBPixel(row[4 * x], row[4 * x + 1], row[4 * x + 2], line + x); // RGBA, alpha ignored
		}
	}
	return pix;
}

int sr_thumb(PIX *pix, int w, int h, uint8_t *out) {
	PIX *g;
	l_int32 pw = pixGetWidth(pix), ph = pixGetHeight(pix);
	switch (pixGetDepth(pix)) {
	case 1: {
		// Black and white to grey while reducing: each grey pixel the share
		// of white in its square (no page-sized grey copy).
		l_float32 f = 1.0f * 4 * w / pw;
		if (1.0f * 4 * h / ph > f) f = 1.0f * 4 * h / ph;
		if (f > 1) f = 1;
		g = f < 1 ? pixScaleToGray(pix, f) : pixConvert1To8(NULL, pix, 255, 0);
		break;
	}
	case 8:
		g = pixClone(pix);
		break;
	default:
		g = pixConvertRGBToLuminance(pix);
	}
	if (!g) return -1;
	PIX *t = pixScaleToSize(g, w, h);
	pixDestroy(&g);
	if (!t) return -1;
	if (pixGetDepth(t) != 8 || pixGetWidth(t) != w || pixGetHeight(t) != h) {
		pixDestroy(&t);
		return -1;
	}
	l_uint32 *data = pixGetData(t);
	l_int32 wpl = pixGetWpl(t);
	for (l_int32 y = 0; y < h; y++)
		for (l_int32 x = 0; x < w; x++) *out++ = GET_DATA_BYTE(data + (size_t)y * wpl, x);
	pixDestroy(&t);
	return 0;
}
