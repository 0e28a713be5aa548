/* The host bridge at 0:0:0 (bhyve's "hostbridge" and "amd_hostbridge").
 *
 * bhyve's identities: NetApp's vendor ID 0x1275 for both vendor and device,
 * or AMD 0x1022 with a made-up device 0x7432; class 06/00/00 (host bridge)
 * and a PCI Express capability of type root port, which is what makes guests
 * treat the platform as PCIe and use ECAM.  As in bhyve, the config keys
 * "vendor" and "devid" under the function's node override the IDs. */
#include <errno.h>
#include <stdio.h>

#include "config.h"
#include "pci/pci_emul.h"

#define NETAPP_VENDOR	      0x1275
#define AMD_VENDOR	      0x1022
#define AMD_HOSTBRIDGE_DEVICE 0x7432

static int read_id(struct pci_devinst *pi, const struct config *cfg, const char *node,
		   const char *name, unsigned dflt, uint16_t *out)
{
	unsigned long long v;
	char key[64];

	snprintf(key, sizeof(key), "%s.%s", node, name);
	if (config_get_uint(cfg, key, dflt, 0xffff, &v) < 0) {
		pci_set_error(pi, "%s=%s: expected a 16-bit number", key, config_get(cfg, key));
		return -EINVAL;
	}
	*out = (uint16_t)v;
	return 0;
}

static int hostbridge_setup(struct pci_devinst *pi, const struct config *cfg, const char *node,
			    unsigned vendor, unsigned device)
{
	uint16_t vid, did;
	int rc;

	rc = read_id(pi, cfg, node, "vendor", vendor, &vid);
	if (!rc)
		rc = read_id(pi, cfg, node, "devid", device, &did);
	if (rc)
		return rc;
	pci_set_cfgdata16(pi, PCI_REG_VENDOR, vid);
	pci_set_cfgdata16(pi, PCI_REG_DEVICE, did);
	pci_set_cfgdata8(pi, PCI_REG_CLASS, PCI_CLASS_BRIDGE);
	pci_set_cfgdata8(pi, PCI_REG_SUBCLASS, PCI_SUBCLASS_BRIDGE_HOST);
	pci_set_cfgdata8(pi, PCI_REG_HDRTYPE, 0);
	rc = pci_emul_add_pciecap(pi, PCI_PCIE_TYPE_ROOT_PORT);
	return rc < 0 ? rc : 0;
}

static int hostbridge_init(struct pci_devinst *pi, const struct config *cfg, const char *node)
{
	return hostbridge_setup(pi, cfg, node, NETAPP_VENDOR, NETAPP_VENDOR);
}

static int amd_hostbridge_init(struct pci_devinst *pi, const struct config *cfg, const char *node)
{
	return hostbridge_setup(pi, cfg, node, AMD_VENDOR, AMD_HOSTBRIDGE_DEVICE);
}

/* Not static: a unit test names these to pull this object out of the
 * static library. */
const struct pci_devemu pci_de_hostbridge = {
	.name = "hostbridge",
	.init = hostbridge_init,
};
PCI_EMUL_REGISTER(pci_de_hostbridge);

const struct pci_devemu pci_de_amd_hostbridge = {
	.name = "amd_hostbridge",
	.init = amd_hostbridge_init,
};
PCI_EMUL_REGISTER(pci_de_amd_hostbridge);
