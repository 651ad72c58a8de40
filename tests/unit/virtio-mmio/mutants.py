#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Break each check of plugins/virtio-mmio/transport.c in turn and show which
unit tests catch it (every line must say CAUGHT).  Not part of ctest: run
from the top of the tree after configuring build/:
    tests/unit/virtio-mmio/mutants.py [NAME...]
The source is restored afterwards."""
import os
import re
import subprocess
import sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
SRC='plugins/virtio-mmio/transport.c'
orig=open(SRC).read()
M=[
("narrow read", "	if (size != 4) {\n		guest_error(t, \"%u-byte read", "	if (0) {\n		guest_error(t, \"%u-byte read"),
("narrow write", "	if (size != 4) {\n		guest_error(t, \"%u-byte write", "	if (0) {\n		guest_error(t, \"%u-byte write"),
("queuenum validate", "	if (vq_validate_config(q->num, max)) {", "	if (0 && vq_validate_config(q->num, max)) {"),
("qsel write range", "		if (t->queue_sel >= t->ops->nr_queues) {", "		if (t->queue_sel >= VTRANS_MAX_QUEUES) {"),
("qnummax oob", "		v = qok ? t->ops->queue_num_max[t->queue_sel] : 0;", "		v = qok ? t->ops->queue_num_max[t->queue_sel] : 1;"),
("qready oob", "		v = qok && t->q[t->queue_sel].ready;", "		v = t->q[t->queue_sel].ready;"),
("layout frozen", "	if (q->ready) {\n		guest_error(t, \"queue %u: register", "	if (0) {\n		guest_error(t, \"queue %u: register"),
("notify driver_ok", "	live = (t->status & VIRTIO_STATUS_DRIVER_OK) && t->q[q].ready;", "	live = t->q[q].ready;"),
("notify ready", "	live = (t->status & VIRTIO_STATUS_DRIVER_OK) && t->q[q].ready;", "	live = (t->status & VIRTIO_STATUS_DRIVER_OK);"),
("offer deps", "	while ((d = deps_broken(cfg->ops, t->offered))) {", "	while (0 && (d = deps_broken(cfg->ops, t->offered))) {"),
("fok unoffered", "(f & ~t->offered) ||", "0 ||"),
("fok version1", "!(f & VIRTIO_F_VERSION_1) ||", "0 ||"),
("fok deps", "	    deps_broken(t->ops, f))\n		return false;", "	    0)\n		return false;"),
("fok hook", "t->ops->features_ok(t->opaque, f) == 0;", "(t->ops->features_ok(t->opaque, f), 1);"),
("fok high word", "	if (t->drv_features_high ||", "	if (0 ||"),
("status clear", "	if ((old & ~VIRTIO_STATUS_NEEDS_RESET) & ~v) {", "	if (0) {"),
("status needs_reset from driver", "	v &= ~VIRTIO_STATUS_NEEDS_RESET;\n", "\n"),
("driver_ok needs features_ok", "	if ((set & VIRTIO_STATUS_DRIVER_OK) &&\n	    !((old | set) & VIRTIO_STATUS_FEATURES_OK)) {", "	if (0) {"),
("drv features frozen", "		if (status_get(t) & VIRTIO_STATUS_FEATURES_OK) {\n			guest_error(t, \"DriverFeatures", "		if (0) {\n			guest_error(t, \"DriverFeatures"),
("reset vq_reset", "		vq_reset(&q->vq);\n		q->num = 0;", "		q->num = 0;"),
("reset ready", "		t->q[i].ready = false;\n", "		;\n"),
("reset order", "	pthread_mutex_unlock(&t->lock);\n	t->ops->reset(t->opaque);\n	for", "	pthread_mutex_unlock(&t->lock);\n	for"),
("queue_stop call", "			t->ops->queue_stop(t->opaque, t->queue_sel);", "			(void)0;"),
("queue_stop only when ready", "		if (!q->ready)\n			return;\n		/* As", "		/* As"),
("reset num", "		q->num = 0;\n", ""),
("reset addrs", "		q->desc = q->driver = q->device = 0;\n", ""),
("reset isr", "	t->int_status = 0;\n	irq_update(t);", "	irq_update(t);"),
("reset features", "	t->drv_features = 0;\n	t->drv_features_high", "	t->drv_features_high"),
("reset hook", "	t->ops->reset(t->opaque);\n", "\n"),
("reset status", "	t->status = 0;\n", ""),
("needs_reset bit", "	t->status |= VIRTIO_STATUS_NEEDS_RESET;\n", ""),
("needs_reset irq", "	t->status |= VIRTIO_STATUS_NEEDS_RESET;\n	if (t->status & VIRTIO_STATUS_DRIVER_OK)\n		raise_locked(t, VMMIO_INT_CONFIG);", "	t->status |= VIRTIO_STATUS_NEEDS_RESET;"),
("needs_reset irq before driver_ok", "	t->status |= VIRTIO_STATUS_NEEDS_RESET;\n	if (t->status & VIRTIO_STATUS_DRIVER_OK)", "	t->status |= VIRTIO_STATUS_NEEDS_RESET;\n	if (1)"),
("used should_notify", "	if (q >= t->ops->nr_queues || !vq_should_notify(&t->q[q].vq))", "	if (q >= t->ops->nr_queues)"),
("used raise", "	raise_locked(t, VMMIO_INT_USED);", "	(void)raise_locked;"),
("line level", "t->int_status != 0);", "(t->int_status & VMMIO_INT_USED) != 0);"),
("ack line", "		t->int_status &= ~v;\n		irq_update(t);", "		t->int_status &= ~v;"),
("config gen", "	t->config_gen++;\n", ""),
("config irq", "	t->config_gen++;\n	if (t->status & VIRTIO_STATUS_DRIVER_OK)\n		raise_locked(t, VMMIO_INT_CONFIG);", "	t->config_gen++;"),
("config bounds", "	if (size > 4 || cfg_off >= t->ops->config_size || size > t->ops->config_size - cfg_off) {", "	if (size > 4 || cfg_off >= 0x100) {"),
("shm len", "		v = ~0u; /* no shared", "		v = 0; /* no shared"),
("doorbell all queues", "			t->ops->notify(t->opaque, i);", "			{ t->ops->notify(t->opaque, i); break; }"),
("doorbell worker", "			.fn = cfg->worker ? NULL : doorbell_fire,", "			.fn = doorbell_fire,"),
("ops transport mask", "	if (o->features & VIRTIO_F_TRANSPORT_MASK & ~VTRANS_FEATURES) {", "	if (0) {"),
("ops qmax", "		if (!o->queue_num_max[i] || o->queue_num_max[i] > VQ_MAX_SIZE) {", "		if (0) {"),
("base align", "	else if (!rc && (t->base % VMMIO_REGION_SIZE))", "	else if (0)"),
("fdt dma-coherent", "		rc = fdt_setprop_empty(fdt, node, \"dma-coherent\");", "		rc = 0;"),
("queue ready before features_ok", "	if (!(status_get(t) & VIRTIO_STATUS_FEATURES_OK)) {\n		guest_error(t, \"QueueReady", "	if (0) {\n		guest_error(t, \"QueueReady"),
("queueready 0", "		q->ready = false;\n		pthread_mutex_unlock(&t->lock);\n		if", "		pthread_mutex_unlock(&t->lock);\n		if"),
]
only=sys.argv[1:] 
for name,old,new in M:
    if only and name not in only: continue
    if orig.count(old)!=1:
        print(f"{name}: PATTERN count {orig.count(old)}"); continue
    open(SRC,'w').write(orig.replace(old,new))
    b=subprocess.run("nice cmake --build build -j2 --target test_transport",shell=True,capture_output=True,text=True)
    if b.returncode:
        print(f"{name}: BUILD FAIL"); print(b.stdout[-800:]); continue
    r=subprocess.run("timeout 120 ./build/tests/unit/virtio-mmio/test_transport",shell=True,capture_output=True,text=True)
    fails=sorted(set(re.findall(r':[FE]:\w+:(\w+):',r.stdout+r.stderr)))
    print(f"{name}: {'CAUGHT' if fails else 'SURVIVED'} {' '.join(fails)}", flush=True)
open(SRC,'w').write(orig)
subprocess.run("cmake --build build -j2 --target test_transport >/dev/null 2>&1",shell=True)
