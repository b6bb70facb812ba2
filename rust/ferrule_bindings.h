/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel headers Ferrule needs that the kernel crate's bindings lack (SCSI midlayer, FC
 * transport class). Kbuild runs bindgen over this file at build time against the target
 * kernel (struct layouts depend on its .config), restricted to these headers; everything
 * they reference resolves to `kernel::bindings` types. See Kbuild.
 */
#include <scsi/scsi.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_host.h>
#include <scsi/scsi_tcq.h>
#include <scsi/scsi_transport_fc.h>
#include "ferrule_helpers.h"
