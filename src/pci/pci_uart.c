/* bhyve's "uart": a 16550 on PCI.  The identity is bhyve's, a SIIG
 * CyberSerial 1-port (131f:2000), which guests' serial drivers know, with
 * class 07/00/02 (serial controller, 16550-compatible).  BAR 0 is 8 I/O
 * ports holding the 16550 registers; the interrupt is INTx.  The host side
 * is the back end named by the function's "path" key (the same forms as
 * -l comN; none: output is dropped and no input arrives). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hw/uart.h"
#include "hw/uart_backend.h"
#include "pci/pci_emul.h"

#define SIIG_VENDOR	    0x131f
#define SIIG_CYBERSERIAL_1S 0x2000
#define UART_BAR_SIZE	    8

struct pci_uart {
	struct pci_devinst *pi;
	struct uart *u;
	struct uart_backend *be;
};

/* Called with the UART's lock held; only reaches the PCI core. */
static void pci_uart_irq(void *arg, int level)
{
	struct pci_devinst *pi = arg;

	if (level)
		pci_lintr_assert(pi);
	else
		pci_lintr_deassert(pi);
}

static uint64_t pci_uart_barread(struct pci_devinst *pi, int bar, uint64_t off, int size)
{
	struct pci_uart *sc = pci_get_arg(pi);
	uint64_t v = 0;
	int i;

	if (bar != 0)
		return ~0ull;
	/* A wider access reads consecutive registers, as the ISA bus does. */
	for (i = 0; i < size; i++)
		v |= (uint64_t)uart_read(sc->u, (int)off + i) << (8 * i);
	return v;
}

static void pci_uart_barwrite(struct pci_devinst *pi, int bar, uint64_t off, int size, uint64_t val)
{
	struct pci_uart *sc = pci_get_arg(pi);
	int i;

	if (bar != 0)
		return;
	for (i = 0; i < size; i++)
		uart_write(sc->u, (int)off + i, (uint8_t)(val >> (8 * i)));
}

static int pci_uart_init(struct pci_devinst *pi, const struct config *cfg, const char *node)
{
	struct pci_uart *sc = calloc(1, sizeof(*sc));
	const char *path;
	char key[64];
	int rc;

	if (!sc)
		return -ENOMEM;
	sc->pi = pi;
	pci_set_arg(pi, sc);
	pci_set_cfgdata16(pi, PCI_REG_VENDOR, SIIG_VENDOR);
	pci_set_cfgdata16(pi, PCI_REG_DEVICE, SIIG_CYBERSERIAL_1S);
	pci_set_cfgdata8(pi, PCI_REG_CLASS, PCI_CLASS_SIMPLECOMM);
	pci_set_cfgdata8(pi, PCI_REG_SUBCLASS, PCI_SUBCLASS_SERIAL);
	pci_set_cfgdata8(pi, PCI_REG_PROGIF, PCI_PROGIF_16550);
	rc = pci_emul_alloc_bar(pi, 0, PCI_BAR_IO, UART_BAR_SIZE, 0);
	if (!rc)
		rc = pci_lintr_request(pi);
	if (rc)
		return rc;
	sc->u = uart_new(pci_uart_irq, pi);
	if (!sc->u)
		return errno ? -errno : -ENOMEM;
	uart_set_name(sc->u, pci_name(pi));
	snprintf(key, sizeof(key), "%s.path", node);
	path = config_get(cfg, key);
	if (!path)
		return 0;
	rc = uart_backend_open(sc->u, path, pci_loop(pi), &sc->be);
	if (rc < 0)
		pci_set_error(pi, "%s: %s", path, strerror(-rc));
	return rc;
}

static void pci_uart_deinit(struct pci_devinst *pi)
{
	struct pci_uart *sc = pci_get_arg(pi);

	if (!sc)
		return;
	if (sc->be)
		uart_backend_close(sc->be);
	uart_free(sc->u);
	free(sc);
	pci_set_arg(pi, NULL);
}

/* Not static: a unit test names it to pull this object out of the static
 * library. */
const struct pci_devemu pci_de_uart = {
	.name = "uart",
	.init = pci_uart_init,
	.deinit = pci_uart_deinit,
	.barread = pci_uart_barread,
	.barwrite = pci_uart_barwrite,
};
PCI_EMUL_REGISTER(pci_de_uart);
