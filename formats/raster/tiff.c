#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include "raster.h"

void sr_append_msg(const char *msg, void *unused);

static void fill(TIFF *t, sr_tiff_page *p) {
	uint16_t n = 0, *types = NULL;
	memset(p, 0, sizeof *p);
	p->offset = TIFFCurrentDirOffset(t);
	TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &p->w);
	TIFFGetField(t, TIFFTAG_IMAGELENGTH, &p->h);
	TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &p->bps);
	TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &p->spp);
	TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &p->compression);
	TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &p->planar);
	TIFFGetFieldDefaulted(t, TIFFTAG_ORIENTATION, &p->orientation);
	TIFFGetFieldDefaulted(t, TIFFTAG_RESOLUTIONUNIT, &p->resunit);
	if (!TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &p->photometric))
		p->photometric = p->spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISWHITE;
	if (TIFFGetFieldDefaulted(t, TIFFTAG_EXTRASAMPLES, &n, &types)) {
		p->extra = n;
		if (n > 0 && types) p->extratype = types[0];
	}
	TIFFGetField(t, TIFFTAG_XRESOLUTION, &p->xres);
	TIFFGetField(t, TIFFTAG_YRESOLUTION, &p->yres);
	p->tiled = TIFFIsTiled(t);
}

int sr_tiff_pages(const char *path, sr_tiff_page *pages, int max) {
	TIFF *t = TIFFOpen(path, "r");
	if (!t) return -1;
	int n = 0;
	do {
		if (n < max) fill(t, &pages[n]);
		n++;
	} while (n <= max && TIFFReadDirectory(t));
	TIFFClose(t);
	return n;
}

static int grey_photometric(uint16_t p) {
	return p == PHOTOMETRIC_MINISWHITE || p == PHOTOMETRIC_MINISBLACK;
}

// put sets pixel x of row line (of a PIX of depth d) from RGB over white.
static void put(l_uint32 *line, int d, int x, int r, int g, int b) {
	switch (d) {
	case 1:
		if ((r * 299 + g * 587 + b * 114) / 1000 < 128) SET_DATA_BIT(line, x);
		break;
	case 8:
		SET_DATA_BYTE(line, x, (r * 299 + g * 587 + b * 114) / 1000);
		break;
	default:
		composeRGBPixel(r, g, b, line + x);
	}
}

// decode_rgba reads through libtiff's RGBA interface, which converts every
// layout, sample size and photometric libtiff knows to 8-bit RGBA, in
// bands of rows so that memory holds the result and one band.
static int decode_rgba(TIFF *t, PIX *pix, uint32_t w, uint32_t h) {
	char emsg[1024] = "";
	TIFFRGBAImage img;
	if (!TIFFRGBAImageBegin(&img, t, 1, emsg)) { // stop at the first error: no garbage rows
		sr_append_msg(emsg, NULL);
		return 0;
	}
	// Rows in stored order: the caller applies the Orientation tag.
	img.req_orientation = ORIENTATION_TOPLEFT;
	img.orientation = ORIENTATION_TOPLEFT;
	uint32_t band = (16u << 20) / (w * 4u);
	if (band < 1) band = 1;
	if (band > h) band = h;
	uint32_t *raster = malloc((size_t)w * band * 4);
	if (!raster) {
		TIFFRGBAImageEnd(&img);
		sr_append_msg("out of memory", NULL);
		return 0;
	}
	int d = pixGetDepth(pix), wpl = pixGetWpl(pix), ok = 1;
	l_uint32 *data = pixGetData(pix);
	for (uint32_t y = 0; y < h && ok; y += band) {
		uint32_t n = h - y < band ? h - y : band;
		img.row_offset = y;
		img.col_offset = 0;
		if (!TIFFRGBAImageGet(&img, raster, w, n)) {
			ok = 0;
			break;
		}
		for (uint32_t r = 0; r < n; r++) {
			l_uint32 *line = data + (size_t)(y + r) * wpl;
			for (uint32_t x = 0; x < w; x++) {
				uint32_t p = raster[(size_t)r * w + x];
				int a = 255 - TIFFGetA(p); // premultiplied: add the white behind
				int cr = TIFFGetR(p) + a, cg = TIFFGetG(p) + a, cb = TIFFGetB(p) + a;
				put(line, d, x, cr > 255 ? 255 : cr, cg > 255 ? 255 : cg, cb > 255 ? 255 : cb);
			}
		}
	}
	free(raster);
	TIFFRGBAImageEnd(&img);
	return ok;
}

static int sample(const uint8_t *s, int i, int bps) {
	return bps == 16 ? ((const uint16_t *)s)[i] >> 8 : s[i];
}

// decode_raw reads what the RGBA interface refuses but libtiff reads:
// 16-bit CMYK, and 8- or 16-bit grey, RGB and CMYK in general, interleaved
// samples, strips or tiles.
// raw_layout_ok reports whether decode_raw reads this layout.
static int raw_layout_ok(uint16_t bps, uint16_t spp, uint16_t photometric, uint16_t planar, uint16_t extra) {
	int colors = spp - extra;
	return planar == PLANARCONFIG_CONTIG && (bps == 8 || bps == 16) &&
	       ((grey_photometric(photometric) && colors == 1) || (photometric == PHOTOMETRIC_RGB && colors == 3) ||
		(photometric == PHOTOMETRIC_SEPARATED && colors == 4));
}

static int decode_raw(TIFF *t, PIX *pix, uint32_t w, uint32_t h, uint16_t bps, uint16_t spp, uint16_t photometric, uint16_t extra, uint16_t extratype) {
	int colors = spp - extra;
	int tiled = TIFFIsTiled(t);
	uint32_t tw = w, th = 0;
	tmsize_t size;
	if (tiled) {
		TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
		TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
		size = TIFFTileSize(t);
	} else {
		TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &th);
		if (th > h) th = h;
		size = TIFFStripSize(t);
	}
	if (tw == 0 || th == 0 || size <= 0) return 0;
	uint8_t *buf = malloc(size);
	if (!buf) return 0;
	int d = pixGetDepth(pix), wpl = pixGetWpl(pix), bytes = bps / 8, ok = 1;
	int alpha = extra > 0 && (extratype == EXTRASAMPLE_ASSOCALPHA || extratype == EXTRASAMPLE_UNASSALPHA);
	l_uint32 *data = pixGetData(pix);
	for (uint32_t y0 = 0; y0 < h && ok; y0 += th) {
		for (uint32_t x0 = 0; x0 < w && ok; x0 += tw) {
			tmsize_t got = tiled ? TIFFReadEncodedTile(t, TIFFComputeTile(t, x0, y0, 0, 0), buf, size)
					     : TIFFReadEncodedStrip(t, TIFFComputeStrip(t, y0, 0), buf, size);
			if (got < 0) {
				ok = 0;
				break;
			}
			for (uint32_t r = 0; r < th && y0 + r < h; r++) {
				l_uint32 *line = data + (size_t)(y0 + r) * wpl;
				for (uint32_t c = 0; c < tw && x0 + c < w; c++) {
					size_t at = ((size_t)r * tw + c) * spp * bytes;
					if (at + (size_t)spp * bytes > (size_t)got) break; // a short strip: what is there
					const uint8_t *s = buf + at;
					int cr, cg, cb;
					if (colors == 1) {
						int v = sample(s, 0, bps);
						if (photometric == PHOTOMETRIC_MINISWHITE) v = 255 - v;
						cr = cg = cb = v;
					} else if (colors == 3) {
						cr = sample(s, 0, bps), cg = sample(s, 1, bps), cb = sample(s, 2, bps);
					} else {
						int k = 255 - sample(s, 3, bps);
						cr = (255 - sample(s, 0, bps)) * k / 255;
						cg = (255 - sample(s, 1, bps)) * k / 255;
						cb = (255 - sample(s, 2, bps)) * k / 255;
					}
					if (alpha) { // over white
						int a = sample(s, colors, bps), bg = 255 - a;
						if (extratype == EXTRASAMPLE_UNASSALPHA) {
							cr = cr * a / 255, cg = cg * a / 255, cb = cb * a / 255;
						}
						cr = cr + bg > 255 ? 255 : cr + bg;
						cg = cg + bg > 255 ? 255 : cg + bg;
						cb = cb + bg > 255 ? 255 : cb + bg;
					}
					put(line, d, x0 + c, cr, cg, cb);
				}
			}
		}
	}
	free(buf);
	return ok;
}

PIX *sr_tiff_decode(const char *path, uint64_t offset) {
	TIFF *t = TIFFOpen(path, "r");
	if (!t) return NULL;
	if (!TIFFSetSubDirectory(t, offset)) {
		TIFFClose(t);
		return NULL;
	}
	sr_tiff_page p;
	fill(t, &p);
	int d = 32;
	if (grey_photometric(p.photometric) && p.spp - p.extra == 1) d = (p.bps == 1 && p.extra == 0) ? 1 : 8;
	PIX *pix = pixCreate(p.w, p.h, d);
	if (!pix) {
		TIFFClose(t);
		return NULL;
	}
	// libtiff's RGBA interface first; what it refuses (16-bit CMYK) read
	// here from the samples. Grey with alpha is read here first: the RGBA
	// interface gives its grey unmultiplied by alpha, or drops the alpha.
	char emsg[1024] = "";
	int ok = 0, raw = raw_layout_ok(p.bps, p.spp, p.photometric, p.planar, p.extra);
	if (raw && grey_photometric(p.photometric) && p.extra > 0) ok = decode_raw(t, pix, p.w, p.h, p.bps, p.spp, p.photometric, p.extra, p.extratype);
	else if (TIFFRGBAImageOK(t, emsg)) ok = decode_rgba(t, pix, p.w, p.h);
	else sr_append_msg(emsg, NULL);
	if (!ok && raw) {
		sr_msgs_reset();
		ok = decode_raw(t, pix, p.w, p.h, p.bps, p.spp, p.photometric, p.extra, p.extratype);
	}
	TIFFClose(t);
	if (!ok) {
		pixDestroy(&pix);
		return NULL;
	}
	if (p.xres > 0 && p.yres > 0) {
		float f = p.resunit == RESUNIT_CENTIMETER ? 2.54f : 1.0f;
		if (p.resunit != RESUNIT_NONE) pixSetResolution(pix, (l_int32)(p.xres * f + 0.5f), (l_int32)(p.yres * f + 0.5f));
	}
	return pix;
}
