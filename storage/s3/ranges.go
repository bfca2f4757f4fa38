package s3

import (
	"context"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/strongroom-archive/strongroom/storage"
)

// getAhead is how many ranges of one object are fetched at once.
const getAhead = 4

// ranges reads an object in ranges fetched getAhead at a time and handed
// on in order; memory holds getAhead+1 ranges, whatever the object's size.
// Every range asks for the ETag the object had when it was opened, so an
// object replaced meanwhile fails the read instead of mixing two versions.
type ranges struct {
	cancel context.CancelFunc
	key    string
	order  chan chan fetched // the ranges in flight, in order
	free   chan []byte       // buffers to fetch into
	cur    fetched
	off    int
	err    error
}

type fetched struct {
	buf []byte
	err error
}

func newRanges(ctx context.Context, s *Store, key, k string, oi minio.ObjectInfo, chunk int64) *ranges {
	ctx, cancel := context.WithCancel(ctx)
	r := &ranges{cancel: cancel, key: key, order: make(chan chan fetched, getAhead), free: make(chan []byte, getAhead+1)}
	for range getAhead + 1 {
		r.free <- make([]byte, chunk)
	}
	go func() {
		defer close(r.order)
		for start := int64(0); start < oi.Size; start += chunk {
			n := min(chunk, oi.Size-start)
			var buf []byte
			select {
			case buf = <-r.free:
			case <-ctx.Done():
				return
			}
			done := make(chan fetched, 1)
			select {
			case r.order <- done:
			case <-ctx.Done():
				return
			}
			go func() {
				f := fetched{buf: buf[:n]}
				defer func() { done <- f }()
				defer storage.Recovered(&f.err)
				f.err = s.getRange(ctx, k, oi.ETag, start, f.buf)
			}()
		}
	}()
	return r
}

// getRange reads len(buf) bytes of object k from start into buf.
func (s *Store) getRange(ctx context.Context, k, etag string, start int64, buf []byte) error {
	o := minio.GetObjectOptions{}
	if err := o.SetRange(start, start+int64(len(buf))-1); err != nil {
		return err
	}
	if err := o.SetMatchETag(etag); err != nil {
		return err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, k, o)
	if err != nil {
		return classify(err)
	}
	defer obj.Close()
	if _, err := io.ReadFull(obj, buf); err != nil {
		return classify(err)
	}
	return nil
}

func (r *ranges) Read(p []byte) (int, error) {
	for r.err == nil && r.off == len(r.cur.buf) {
		if r.cur.buf != nil {
			r.free <- r.cur.buf[:cap(r.cur.buf)]
		}
		r.cur, r.off = fetched{}, 0
		next, ok := <-r.order
		if !ok {
			r.err = io.EOF
			break
		}
		if r.cur = <-next; r.cur.err != nil {
			r.err = fmt.Errorf("s3: read %s: %w", r.key, r.cur.err)
			r.cur.buf = nil
		}
	}
	if r.off < len(r.cur.buf) {
		n := copy(p, r.cur.buf[r.off:])
		r.off += n
		return n, nil
	}
	return 0, r.err
}

// Close stops the fetches still under way.
func (r *ranges) Close() error {
	r.cancel()
	return nil
}
