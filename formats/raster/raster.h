// C side of package raster: decoders for TIFF (libtiff), JPEG 2000
// (OpenJPEG) and the formats Leptonica reads, each returning a Leptonica
// PIX of depth 1 (1 = black), 8 (grey) or 32 (RGB, alpha laid over white).
#ifndef SR_RASTER_H
#define SR_RASTER_H

#include <stdint.h>
#include <stddef.h>
#include <leptonica/allheaders.h>

// What the libraries said during the last call (errors only).
void sr_install(void);
void sr_msgs_reset(void);
const char *sr_msgs(void);

typedef struct {
	uint64_t offset;  // the directory's offset, to go back to it at once
	uint32_t w, h;
	uint16_t bps, spp, photometric, compression, planar, orientation, resunit;
	uint16_t extra, extratype; // extra samples, and the first one's type (1 associated alpha, 2 unassociated)
	int tiled;
	float xres, yres;
} sr_tiff_page;

// sr_tiff_pages fills up to max pages and returns how many the file has
// (more than max: the caller refuses it), or -1 if it cannot be opened.
int sr_tiff_pages(const char *path, sr_tiff_page *pages, int max);
PIX *sr_tiff_decode(const char *path, uint64_t offset);

typedef struct {
	uint32_t w, h;
	int comps, prec, sgnd, colorspace, alpha, subsampled;
} sr_jp2_info;

int sr_jp2_header(const char *path, int j2k, sr_jp2_info *info);
PIX *sr_jp2_decode(const char *path, int j2k, int reduce);

// sr_normalise returns pix as 1, 8 or 32 bpp without colormap or alpha
// (laid over white); 8 bpp when a colour image is grey, 1 bpp when a grey
// one is black and white only. It takes ownership of pix.
PIX *sr_normalise(PIX *pix);

// sr_rows writes the pixels row by row, packed: 1 bpp with 1 = white (as
// PDF's DeviceGray reads it), 8 bpp grey, or 24-bit RGB.
void sr_rows(PIX *pix, uint8_t *out);

PIX *sr_from_rows(const uint8_t *data, int w, int h, int channels, int stride);

// sr_thumb writes pix as 8-bit grey scaled (averaged) to w×h into out;
// it returns 0, or -1 when memory runs out.
int sr_thumb(PIX *pix, int w, int h, uint8_t *out);

#endif
