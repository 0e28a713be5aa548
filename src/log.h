/* One logging interface for the whole runner: every user-facing message goes
 * through here, prefixed with the program and VM name. */
#ifndef BHYVE_LOG_H
#define BHYVE_LOG_H

#include <stdarg.h>

void log_set_vmname(const char *name);
/* A message to stderr: "bhyve: <vm>: text". */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As log_warnx, with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only when verbose logging was asked for (BHYVE_DEBUG in the environment). */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
