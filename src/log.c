#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *vmname;
static int debug_on = -1;

void log_set_vmname(const char *name)
{
	vmname = name;
}

static void __attribute__((format(printf, 1, 0))) vlog(const char *fmt, va_list ap, int err)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf), "bhyve: %s%s", vmname ? vmname : "", vmname ? ": " : "");
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	if (err)
		fprintf(stderr, "%s: %s\r\n", buf, strerror(err));
	else
		fprintf(stderr, "%s\r\n", buf);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap, 0);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap, err);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (debug_on < 0)
		debug_on = getenv("BHYVE_DEBUG") != NULL;
	if (!debug_on)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap, 0);
	va_end(ap);
}
