package bagit

import (
	"context"
	"encoding/hex"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// Copy reads src once, writes it to dst (which may be nil) and computes the
// digests for algs, and returns them with the byte count.
//
// The reading goroutine also computes the cheapest digest (SHA-256, which
// has CPU instructions on current x86 and ARM); every other digest and the
// writer run in goroutines of their own on a ring of buffers. On two cores
// SHA-512 and SHA-256 together then cost about as much wall time as SHA-512
// alone, and reading overlaps hashing. Memory is constant (copyBuffers ×
// copyBufSize) whatever the file size.
func Copy(ctx context.Context, dst io.Writer, src io.Reader, algs []Algorithm) (Digests, int64, error) {
	hs := make([]hash.Hash, len(algs))
	for i, a := range algs {
		h, err := a.New()
		if err != nil {
			return nil, 0, err
		}
		hs[i] = h
	}
	// inline runs in the reading goroutine; sinks each get a goroutine.
	var inline io.Writer
	sinks := make([]io.Writer, 0, len(hs)+1)
	for i, h := range hs {
		if inline == nil && (algs[i] == SHA256 || i == len(hs)-1) {
			inline = h
			continue
		}
		sinks = append(sinks, h)
	}
	if dst != nil {
		sinks = append(sinks, dst)
	}

	type chunk struct {
		buf  *[]byte
		n    int
		left sync.WaitGroup
	}
	free := make(chan *chunk, copyBuffers)
	for range copyBuffers {
		free <- &chunk{buf: bufPool.Get().(*[]byte)}
	}
	defer func() {
		for range copyBuffers {
			bufPool.Put((<-free).buf)
		}
	}()
	feeds := make([]chan *chunk, len(sinks))
	errs := make([]error, len(sinks))
	var failed atomic.Bool // a sink failed: stop reading early
	var workers sync.WaitGroup
	for i, w := range sinks {
		feeds[i] = make(chan *chunk, copyBuffers)
		workers.Add(1)
		go func() {
			defer workers.Done()
			for c := range feeds[i] {
				if errs[i] == nil {
					if _, errs[i] = w.Write((*c.buf)[:c.n]); errs[i] != nil {
						failed.Store(true)
					}
				}
				c.left.Done()
			}
		}()
	}

	var total int64
	var rerr error
	var inflight sync.WaitGroup
	for {
		if err := ctx.Err(); err != nil {
			rerr = err
			break
		}
		c := <-free
		n, err := io.ReadFull(src, *c.buf)
		if n > 0 {
			c.n = n
			total += int64(n)
			if inline != nil {
				inline.Write((*c.buf)[:n]) // hashes never fail
			}
			c.left.Add(len(sinks))
			inflight.Add(1)
			for _, f := range feeds {
				f <- c
			}
			go func() { c.left.Wait(); inflight.Done(); free <- c }()
		} else {
			free <- c
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
		if failed.Load() {
			break
		}
	}
	for _, f := range feeds {
		close(f)
	}
	workers.Wait()
	inflight.Wait()
	if rerr != nil {
		return nil, total, rerr
	}
	for _, err := range errs {
		if err != nil {
			return nil, total, err
		}
	}
	d := make(Digests, len(algs))
	for i, a := range algs {
		d[a] = hex.EncodeToString(hs[i].Sum(nil))
	}
	return d, total, nil
}

// copyBuffers buffers of copyBufSize are in flight per Copy; they are pooled
// because a bag of thousands of small files would otherwise allocate (and
// zero) the whole ring once per file.
const copyBuffers = 6

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}
