/* Threads of the runner: every one is created here, with a small stack.
 * glibc's default is 8 MiB of address space; with transparent huge pages
 * on "always" the first touch of a 2 MiB-aligned part of such a stack makes
 * the kernel back it with a 2 MiB page, so an idle runner would keep
 * megabytes of its own memory dirty.  No thread of the runner needs more
 * than a few tens of KiB. */
#ifndef BHYVE_THREAD_H
#define BHYVE_THREAD_H

#include <pthread.h>
#include <stddef.h>

/* Stack size of every thread: 256 KiB, 1 MiB under AddressSanitizer (its
 * redzones grow frames). */
#if defined(__SANITIZE_ADDRESS__)
#define THREAD_STACK_SIZE ((size_t)1024 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define THREAD_STACK_SIZE ((size_t)1024 * 1024)
#endif
#endif
#ifndef THREAD_STACK_SIZE
#define THREAD_STACK_SIZE ((size_t)256 * 1024)
#endif

/* pthread_create with a THREAD_STACK_SIZE stack; returns 0 or an errno
 * value, as pthread_create does. */
int thread_create(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
