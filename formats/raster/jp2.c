#include <stdlib.h>
#include <string.h>
#include <openjpeg.h>
#include "raster.h"

void sr_append_msg(const char *msg, void *unused);

static void ignore(const char *msg, void *unused) {
	(void)msg;
	(void)unused;
}

// open reads the header; on success *codec, *stream and *image are set.
static int open_jp2(const char *path, int j2k, int reduce, opj_codec_t **codec, opj_stream_t **stream, opj_image_t **image) {
	*stream = opj_stream_create_default_file_stream(path, 1);
	if (!*stream) return 0;
	*codec = opj_create_decompress(j2k ? OPJ_CODEC_J2K : OPJ_CODEC_JP2);
	opj_set_error_handler(*codec, sr_append_msg, NULL);
	opj_set_warning_handler(*codec, ignore, NULL);
	opj_set_info_handler(*codec, ignore, NULL);
	opj_dparameters_t params;
	opj_set_default_decoder_parameters(&params);
	params.cp_reduce = reduce;
	*image = NULL;
	if (!opj_setup_decoder(*codec, &params) || !opj_read_header(*stream, *codec, image)) {
		if (*image) opj_image_destroy(*image);
		opj_destroy_codec(*codec);
		opj_stream_destroy(*stream);
		return 0;
	}
	return 1;
}

static void close_jp2(opj_codec_t *codec, opj_stream_t *stream, opj_image_t *image) {
	opj_image_destroy(image);
	opj_destroy_codec(codec);
	opj_stream_destroy(stream);
}

static void describe(opj_image_t *im, sr_jp2_info *info) {
	memset(info, 0, sizeof *info);
	info->w = im->x1 - im->x0;
	info->h = im->y1 - im->y0;
	info->comps = im->numcomps;
	info->colorspace = im->color_space;
	for (OPJ_UINT32 i = 0; i < im->numcomps; i++) {
		opj_image_comp_t *c = &im->comps[i];
		if (i == 0) {
			info->prec = c->prec;
			info->sgnd = c->sgnd;
		}
		if (c->alpha) info->alpha = 1;
		if (c->dx != 1 || c->dy != 1) info->subsampled = 1;
	}
}

int sr_jp2_header(const char *path, int j2k, sr_jp2_info *info) {
	opj_codec_t *codec;
	opj_stream_t *stream;
	opj_image_t *image;
	if (!open_jp2(path, j2k, 0, &codec, &stream, &image)) return 0;
	describe(image, info);
	close_jp2(codec, stream, image);
	return 1;
}

// value returns component c at pixel (x, y) of the decoded image, scaled to
// 8 bits.
static int value(opj_image_t *im, int c, uint32_t x, uint32_t y) {
	opj_image_comp_t *comp = &im->comps[c];
	uint32_t cx = x / comp->dx, cy = y / comp->dy;
	if (cx >= comp->w) cx = comp->w - 1;
	if (cy >= comp->h) cy = comp->h - 1;
	long v = comp->data[(size_t)cy * comp->w + cx];
	if (comp->sgnd) v += 1L << (comp->prec - 1);
	if (comp->prec > 8) v >>= comp->prec - 8;
	else if (comp->prec < 8) v = v * 255 / ((1L << comp->prec) - 1);
	return v < 0 ? 0 : v > 255 ? 255 : (int)v;
}

static int clamp(double v) { return v < 0 ? 0 : v > 255 ? 255 : (int)(v + 0.5); }

PIX *sr_jp2_decode(const char *path, int j2k, int reduce) {
	opj_codec_t *codec;
	opj_stream_t *stream;
	opj_image_t *im;
	if (!open_jp2(path, j2k, reduce, &codec, &stream, &im)) return NULL;
	if (!opj_decode(codec, stream, im) || !opj_end_decompress(codec, stream) || im->numcomps == 0) {
		close_jp2(codec, stream, im);
		return NULL;
	}
	// After decoding at a reduced resolution the components hold the
	// smaller size; the first component's is the image's.
	opj_image_comp_t *c0 = &im->comps[0];
	uint32_t w = c0->w * c0->dx, h = c0->h * c0->dy;
	int n = im->numcomps, alpha = -1, colors = n;
	for (int i = 0; i < n; i++)
		if (im->comps[i].alpha) alpha = i;
	if (alpha >= 0) colors--;
	else if (n == 2 || n == 4 && im->color_space != OPJ_CLRSPC_CMYK) alpha = n - 1, colors--;
	int d = colors >= 3 ? 32 : 8;
	PIX *pix = pixCreate(w, h, d);
	if (!pix) {
		close_jp2(codec, stream, im);
		return NULL;
	}
	int wpl = pixGetWpl(pix);
	l_uint32 *data = pixGetData(pix);
	for (uint32_t y = 0; y < h; y++) {
		l_uint32 *line = data + (size_t)y * wpl;
		for (uint32_t x = 0; x < w; x++) {
			int r, g, b;
			if (colors >= 4 && im->color_space == OPJ_CLRSPC_CMYK) {
				int k = 255 - value(im, 3, x, y);
				r = (255 - value(im, 0, x, y)) * k / 255;
				g = (255 - value(im, 1, x, y)) * k / 255;
				b = (255 - value(im, 2, x, y)) * k / 255;
			} else if (colors >= 3 && (im->color_space == OPJ_CLRSPC_SYCC || im->color_space == OPJ_CLRSPC_EYCC)) {
				double Y = value(im, 0, x, y), cb = value(im, 1, x, y) - 128.0, cr = value(im, 2, x, y) - 128.0;
				r = clamp(Y + 1.402 * cr);
				g = clamp(Y - 0.344136 * cb - 0.714136 * cr);
				b = clamp(Y + 1.772 * cb);
			} else if (colors >= 3) {
				r = value(im, 0, x, y), g = value(im, 1, x, y), b = value(im, 2, x, y);
			} else {
				r = g = b = value(im, 0, x, y);
			}
			if (alpha >= 0) {
				int a = value(im, alpha, x, y);
				r = (r * a + 255 * (255 - a)) / 255;
				g = (g * a + 255 * (255 - a)) / 255;
				b = (b * a + 255 * (255 - a)) / 255;
			}
			if (d == 8) SET_DATA_BYTE(line, x, r);
			else composeRGBPixel(r, g, b, line + x);
		}
	}
	close_jp2(codec, stream, im);
	return pix;
}
