#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tiffio.h>
#include "raster.h"

// Messages of one call: the worker decodes one page at a time (package
// raster serialises its calls), so one buffer is enough.
static char buf[4096];
static size_t len;

static void append(const char *s) {
	size_t n = strlen(s);
	if (len + n + 1 >= sizeof buf) n = sizeof buf - len - 1;
	memcpy(buf + len, s, n);
	len += n;
	buf[len] = 0;
}

static void tiff_error(const char *module, const char *fmt, va_list ap) {
	char b[512];
	vsnprintf(b, sizeof b, fmt, ap);
	if (module) {
		append(module);
		append(": ");
	}
	append(b);
	append("\n");
}

static void lept_message(const char *msg) { append(msg); }

void sr_install(void) {
	TIFFSetErrorHandler(tiff_error);
	TIFFSetWarningHandler(NULL);
	leptSetStderrHandler(lept_message);
	setMsgSeverity(L_SEVERITY_ERROR);
}

// sr_msgs_reset starts a call: the handlers are set again each time, as
// Leptonica sets its own when it writes a TIFF (a G4 page, say).
void sr_msgs_reset(void) {
	sr_install();
	len = 0;
	buf[0] = 0;
}

const char *sr_msgs(void) { return buf; }

// For OpenJPEG's error callback.
void sr_append_msg(const char *msg, void *unused) {
	(void)unused;
	append(msg);
}
