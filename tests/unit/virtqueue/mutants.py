#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Break each check of plugins/virtio-mmio/virtqueue.c in turn and show which
unit tests catch it (every line must list at least one).  Not part of ctest:
run from the top of the tree after configuring build/:
    tests/unit/virtqueue/mutants.py [NAME...]
The source is restored afterwards."""
import os
import re
import subprocess
import sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
p='plugins/virtio-mmio/virtqueue.c'
orig=open(p).read()
muts=[
 ("size>max", "size == 0 || size > max ||", "size == 0 ||"),
 ("size==0", "size == 0 || size > max", "size > max"),
 ("pow2", " || (size & (size - 1)))", ")"),
 ("max>32768", "if (max > VQ_MAX_SIZE)\n\t\treturn -EINVAL;", ""),
 ("align", "if (desc % VQ_DESC_ALIGN || avail % VQ_AVAIL_ALIGN || used % VQ_USED_ALIGN)", "if (0)"),
 ("desc area in RAM", "!range_ok(vq, desc, VQ_DESC_AREA(size))", "false"),
 ("avail area in RAM", "!range_ok(vq, avail, VQ_AVAIL_AREA(size))", "false"),
 ("used area in RAM", "!range_ok(vq, used, VQ_USED_AREA(size))", "false"),
 ("avail ahead", "if ((uint16_t)(idx - vq->used_idx) > vq->size)", "if (0)"),
 ("avail ahead vs last_avail", "(uint16_t)(idx - vq->used_idx) > vq->size", "(uint16_t)(idx - vq->last_avail_idx) > vq->size"),
 ("head range", "if (head >= vq->size)\n\t\treturn -ERANGE;", ""),
 ("indirect negotiated", "if (!(vq->features & VQ_F_INDIRECT_DESC))\n\t\t\t\treturn -EPROTO;", ""),
 ("nested", "if (indirect)\n\t\t\t\treturn -EMLINK;", "if (0 && indirect)\n\t\t\t\treturn -EMLINK;"),
 ("indirect|next", "if (d.flags & DESC_F_NEXT)\n\t\t\t\treturn -EINVAL;", ""),
 ("ind len 0", "d.len == 0 || d.len % VQ_DESC_SIZE", "d.len % VQ_DESC_SIZE"),
 ("ind len %16", "d.len == 0 || d.len % VQ_DESC_SIZE ||", "d.len == 0 ||"),
 ("ind len >size", " || d.len / VQ_DESC_SIZE > vq->size)", ")"),
 ("ind table in RAM", "if (!range_ok(vq, d.addr, d.len))\n\t\t\t\treturn -EFAULT;", ""),
 ("readable after writable", "if (!write && out->nseg > out->nread)\n\t\t\treturn -EINVAL;", ""),
 ("buffer in RAM", "if (!range_ok(vq, d.addr, d.len))\n\t\t\treturn -EFAULT;", ""),
 ("total len", "if (total > (1ull << 32))", "if (0)"),
 ("chain <= size", "if (out->nseg >= vq->size)\n\t\t\treturn -ELOOP;", ""),
 ("max_seg", "if (out->nseg >= out->max_seg)\n\t\t\treturn -ENOBUFS;", ""),
 ("next range", "if (d.next >= entries)", "if (d.next >= vq->size + 0 * entries)"),
 ("next range gone", "if (d.next >= entries)\n\t\t\treturn -ERANGE;", "if (0 && d.next >= entries)\n\t\t\treturn -ERANGE;"),
 ("broken sticky", "\tif (vq->broken)\n\t\treturn -EIO;\n\tret = avail_pending", "\tret = avail_pending"),
 ("push head check", "if (head >= vq->size || vq->used_idx == vq->last_avail_idx)", "if (vq->used_idx == vq->last_avail_idx)"),
 ("push count check", "if (head >= vq->size || vq->used_idx == vq->last_avail_idx)", "if (head >= vq->size)"),
 ("need_event", "return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);", "return event == new_idx;"),
 ("need_event -1", "(uint16_t)(new_idx - event - 1)", "(uint16_t)(new_idx - event)"),
 ("no-interrupt flag", "return !(v & AVAIL_F_NO_INTERRUPT);", "return true;"),
 ("nothing new", "if (valid && old == vq->used_idx)\n\t\treturn false;", ""),
 ("event idx ignores flags", "if (vq->features & VQ_F_EVENT_IDX) {\n\t\tif (load16", "if (0) {\n\t\tif (load16"),
 ("disable flag", "\t\tstore16(vq, vq->used + RING_FLAGS, USED_F_NO_NOTIFY);", "\t\tstore16(vq, vq->used + RING_FLAGS, 0);"),
 ("enable avail_event", "ret = store16(vq, avail_event_gpa(vq), vq->last_avail_idx);", "ret = store16(vq, avail_event_gpa(vq), 0);"),
 ("pop moves avail_event", "if ((vq->features & VQ_F_EVENT_IDX) && !vq->kicks_off &&", "if (0 && !vq->kicks_off &&"),
 ("pop honours kicks off", "if ((vq->features & VQ_F_EVENT_IDX) && !vq->kicks_off &&", "if ((vq->features & VQ_F_EVENT_IDX) &&"),
 ("enable recheck", "return pending != 0;", "return 0;"),
 ("write only writable", "return chain_copy(vq, c, c->nread, c->nseg, off", "return chain_copy(vq, c, 0, c->nseg, off"),
 ("read only readable", "return chain_copy(vq, c, 0, c->nread, off, buf, NULL, len);", "return chain_copy(vq, c, 0, c->nseg, off, buf, NULL, len);"),
 ("used slot mask", "USED_ELEM_SIZE * (vq->used_idx & (vq->size - 1))", "USED_ELEM_SIZE * (vq->used_idx & 0xffff)"),
 ("avail slot mask", "2u * (vq->last_avail_idx & (vq->size - 1))", "2u * (vq->last_avail_idx & 0xffff)"),
 ("ignore write on indirect", "\t\tif (d.flags & DESC_F_INDIRECT) {", "\t\tif ((d.flags & DESC_F_INDIRECT) && !(d.flags & DESC_F_WRITE)) {"),
]
sel=sys.argv[1:]
missed=0
for name,a,b in muts:
    if sel and name not in sel: continue
    if orig.count(a)!=1:
        print(f"{name}: PATTERN COUNT {orig.count(a)}"); missed += 1; continue
    open(p,'w').write(orig.replace(a,b))
    r=subprocess.run("cmake --build build -j2 --target test_virtqueue >/dev/null 2>&1 && timeout 120 ./build/tests/unit/virtqueue/test_virtqueue",shell=True,capture_output=True,text=True)
    fails=sorted(set(re.findall(r':virtqueue:(\w+):',r.stdout+r.stderr)))
    summ=[l for l in (r.stdout).splitlines() if 'Checks' in l]
    missed += not fails
    print(f"{name}: {summ[0] if summ else 'build failed'} -> {' '.join(fails) or 'NOT CAUGHT'}", flush=True)
open(p,'w').write(orig)
subprocess.run("cmake --build build -j2 --target test_virtqueue >/dev/null 2>&1",shell=True)
sys.exit(1 if missed else 0)
