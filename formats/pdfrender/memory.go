package pdfrender

import (
	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// linearMemory is PDFium's WebAssembly memory as one mapping reserved at
// its maximum and made usable as it grows. wazero's own memory grows by
// copying into a larger Go slice, so growing from 400 to 500 MiB holds
// both for a moment, and the Go heap keeps the address space after: under
// a worker's memory cap (RLIMIT_DATA) a page that fits failed for want of
// memory. Here growing copies nothing, the reserve costs no memory until
// it is used (a PROT_NONE mapping is not counted as data), and closing
// the renderer gives all of it back at once.
type linearMemory struct {
	buf  []byte // the whole reserve; [:used] is readable and writable
	used int
}

var pageSize = unix.Getpagesize()

// allocate is wazero's MemoryAllocator: max is the memory's limit
// (WithMemoryLimitPages, else WebAssembly's 4 GiB).
func allocate(_, max uint64) experimental.LinearMemory {
	buf, err := unix.Mmap(-1, 0, int(max), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return &linearMemory{} // every Reallocate fails: PDFium is out of memory
	}
	return &linearMemory{buf: buf}
}

// Reallocate implements experimental.LinearMemory.
func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	if n := int(size); n > m.used {
		end := min((n+pageSize-1)/pageSize*pageSize, len(m.buf))
		if err := unix.Mprotect(m.buf[m.used:end], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil // over the process's memory cap: PDFium sees a failed allocation
		}
		m.used = end
	}
	return m.buf[:size]
}

// Free implements experimental.LinearMemory.
func (m *linearMemory) Free() {
	if m.buf != nil {
		unix.Munmap(m.buf)
		m.buf, m.used = nil, 0
	}
}
