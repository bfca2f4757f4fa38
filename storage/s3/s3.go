// Package s3 is the S3-compatible object store (MinIO, AWS S3, Ceph RGW,
// Wasabi, Versity) through minio-go. Each bag is plain objects under
// PREFIX/<bag-id>/, so any S3 client lists and fetches a bag as a folder.
//
// Integrity on the wire: a single PUT carries the SHA-256 computed at intake
// (x-amz-checksum-sha256), which the server verifies; a multipart upload
// carries a full-object CRC64NVME; a store without checksum support gets
// Content-MD5 instead (found out, and logged, when the store is opened).
package s3

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/strongroom-archive/strongroom/storage"
	"github.com/strongroom-archive/strongroom/storage/bagit"
)

func init() {
	storage.Register("s3", func(ctx context.Context, u *url.URL, cfg storage.Config) (storage.Store, error) {
		return Open(ctx, u, cfg.S3, slog.Default())
	})
}

// Store is an S3 bucket and key prefix.
type Store struct {
	client   *minio.Client
	bucket   string
	prefix   string // "" or ends with "/"
	cfg      storage.S3Config
	partSize uint64
	// checksums is false for a store that does not verify
	// x-amz-checksum-*; Content-MD5 is sent instead.
	checksums bool
	// locks is true once the bucket was seen to have Object Lock on, which
	// cannot be turned off again: not asked for every object after that.
	locks atomic.Bool
}

var _ storage.Store = (*Store)(nil)

// Open connects to the bucket of u (s3://BUCKET/PREFIX), checks that it is
// there and usable, finds out whether the store verifies checksums, and
// checks Object Lock and versioning when retention is configured.
func Open(ctx context.Context, u *url.URL, cfg storage.S3Config, log *slog.Logger) (*Store, error) {
	bucket := u.Host
	if bucket == "" {
		return nil, fmt.Errorf("s3: URL %q has no bucket (want s3://BUCKET/PREFIX)", u.Redacted())
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		if err := bagit.CheckPath(prefix); err != nil {
			return nil, fmt.Errorf("s3: prefix: %w", err)
		}
		prefix += "/"
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	secure := cfg.Secure == nil || *cfg.Secure
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	credFile := cfg.CredentialsFile
	if credFile == "" {
		if home, err := os.UserHomeDir(); err == nil {
			credFile = filepath.Join(home, ".aws", "credentials")
		}
	}
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{Filename: credFile, Profile: cfg.Profile},
	})
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	transport, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	transport.ResponseHeaderTimeout = timeout
	st := &Store{bucket: bucket, prefix: prefix, cfg: cfg, partSize: 64 << 20, checksums: true}
	if cfg.PartSize > 0 {
		st.partSize = uint64(cfg.PartSize)
	}
	newClient := func(trailing bool) (*minio.Client, error) {
		return minio.New(endpoint, &minio.Options{Creds: creds, Secure: secure, Region: cfg.Region,
			BucketLookup: lookup, Transport: transport, TrailingHeaders: trailing,
			// minio-go's own retries cover a blip; a longer outage is the
			// pipeline's to wait out (storage.ErrTransient).
			MaxRetries: 3})
	}
	if st.client, err = newClient(true); err != nil {
		return nil, fmt.Errorf("s3: %s: %w", endpoint, err)
	}
	where := fmt.Sprintf("s3://%s/%s at %s", bucket, prefix, endpoint)
	ok, err := st.client.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: %s: %w", where, classify(err))
	}
	if !ok {
		return nil, fmt.Errorf("s3: %s: bucket %q does not exist (create it, or fix storage.url)", where, bucket)
	}
	if cfg.Lock.Mode != "" {
		if err := st.checkLock(ctx); err != nil {
			return nil, fmt.Errorf("s3: %s: %w", where, err)
		}
	}
	if !st.probeChecksums(ctx) {
		log.Warn("s3: the store does not verify x-amz-checksum-sha256; uploads carry Content-MD5 instead", "store", where)
		st.checksums = false
		if st.client, err = newClient(false); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// checkLock refuses a bucket without Object Lock and versioning when
// retention is asked for: objects would otherwise be stored unprotected.
func (s *Store) checkLock(ctx context.Context) error {
	enabled, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("storage.s3.lock is set but Object Lock is not enabled on bucket %q (it can only be enabled when the bucket is created): %w", s.bucket, classify(err))
	}
	if enabled != "Enabled" {
		return fmt.Errorf("storage.s3.lock is set but Object Lock is %q on bucket %q", enabled, s.bucket)
	}
	v, err := s.client.GetBucketVersioning(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("bucket %q versioning: %w", s.bucket, classify(err))
	}
	if !v.Enabled() {
		return fmt.Errorf("storage.s3.lock is set but versioning is not enabled on bucket %q", s.bucket)
	}
	return nil
}

// probeChecksums puts a small object with a wrong SHA-256: a store that
// verifies checksums refuses it. The probe object is removed either way.
func (s *Store) probeChecksums(ctx context.Context) bool {
	key := s.prefix + ".strongroom-checksum-probe"
	body := "probe"
	wrong := base64.StdEncoding.EncodeToString(make([]byte, 32))
	_, err := s.client.PutObject(ctx, s.bucket, key, strings.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{UserMetadata: map[string]string{"x-amz-checksum-sha256": wrong}, DisableMultipart: true})
	if err == nil {
		s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{GovernanceBypass: true})
		return false
	}
	return errors.Is(classify(err), storage.ErrChecksum)
}

func (s *Store) key(k string) (string, error) {
	if err := bagit.CheckPath(k); err != nil {
		return "", fmt.Errorf("s3: key: %w", err)
	}
	return s.prefix + k, nil
}

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) error {
	k, err := s.key(key)
	if err != nil {
		return err
	}
	po := minio.PutObjectOptions{PartSize: s.partSize, UserMetadata: map[string]string{}}
	for mk, mv := range opts.Metadata {
		po.UserMetadata[mk] = mv
	}
	if opts.SHA256 != "" {
		po.UserMetadata["sha256"] = strings.ToLower(opts.SHA256) // x-amz-meta-sha256: the digest, for any client
	}
	single := size >= 0 && uint64(size) <= s.partSize
	if single && opts.SHA256 == "" && s.checksums {
		// Compute the SHA-256 here rather than have minio-go send it as a
		// trailer, which not every S3 implementation accepts.
		if rs, ok := r.(io.ReadSeeker); ok {
			h := sha256.New()
			if _, err := io.Copy(h, rs); err != nil {
				return fmt.Errorf("s3: put %s: %w", key, err)
			}
			if _, err := rs.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("s3: put %s: %w", key, err)
			}
			opts.SHA256 = hex.EncodeToString(h.Sum(nil))
		}
	}
	switch {
	case !s.checksums:
		po.SendContentMd5 = true
	case single && opts.SHA256 != "":
		raw, err := hex.DecodeString(opts.SHA256)
		if err != nil || len(raw) != 32 {
			return fmt.Errorf("s3: put %s: bad sha256 %q", key, opts.SHA256)
		}
		po.UserMetadata["x-amz-checksum-sha256"] = base64.StdEncoding.EncodeToString(raw)
		po.DisableMultipart = true
	case single:
		po.Checksum = minio.ChecksumSHA256
		po.DisableMultipart = true
	default:
		po.Checksum = minio.ChecksumCRC64NVME // full-object checksum over all parts
	}
	if l := s.cfg.Lock; l.Mode != "" {
		// The lock runs to the bag's disposal due date where it has one
		// (not later: disposal must be possible when it is due), else for
		// retain_for; a due date already past locks nothing.
		until := time.Now().Add(l.RetainFor)
		if !opts.RetainUntil.IsZero() {
			until = opts.RetainUntil
		}
		if until.After(time.Now()) {
			po.Mode = minio.Governance
			if l.Mode == "compliance" {
				po.Mode = minio.Compliance
			}
			po.RetainUntilDate = until.UTC()
		}
		if l.LegalHold {
			po.LegalHold = minio.LegalHoldEnabled
		}
	}
	// A multipart upload of a stream needs its SHA-256 checked here: the
	// server only sees the CRC. A file the caller reads back against the
	// SHA-256 goes up in parallel parts (minio-go's, from the io.ReaderAt),
	// each with its CRC, and is hashed only by that read.
	var h *hashCheck
	if _, at := r.(io.ReaderAt); at && opts.ReadBack && !single {
		po.NumThreads = putThreads
	} else if opts.SHA256 != "" && !single {
		h = newHashCheck(r)
		r = h
	}
	info, err := s.client.PutObject(ctx, s.bucket, k, r, size, po)
	if err != nil {
		return fmt.Errorf("s3: put %s: %w", key, classify(err))
	}
	if h != nil {
		if got := h.sum(); got != strings.ToLower(opts.SHA256) {
			s.client.RemoveObject(ctx, s.bucket, k, minio.RemoveObjectOptions{VersionID: info.VersionID})
			return fmt.Errorf("s3: put %s: %w: sha256 %s, want %s", key, storage.ErrChecksum, got, opts.SHA256)
		}
	}
	if size >= 0 && info.Size != size {
		return fmt.Errorf("s3: put %s: stored %d bytes, want %d", key, info.Size, size)
	}
	return nil
}

// putThreads is how many parts of one object are uploaded at once.
const putThreads = 4

// Get implements storage.Store. An object larger than two ranges is read
// in ranges fetched in parallel (a single stream from S3 runs at a
// fraction of what the store and the network give), handed on in order.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, k, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("s3: get %s: %w", key, classify(err))
	}
	oi, err := obj.Stat() // the request happens here
	if err != nil {
		obj.Close()
		return nil, fmt.Errorf("s3: get %s: %w", key, classify(err))
	}
	if chunk := s.rangeSize(); oi.Size > 2*chunk && oi.ETag != "" {
		obj.Close()
		return newRanges(ctx, s, key, k, oi, chunk), nil
	}
	return &reader{obj: obj, key: key}, nil
}

// rangeSize is the size of the ranges a large object is read in: the
// part size, at most 16 MiB (getAhead of them are held at once).
func (s *Store) rangeSize() int64 { return min(int64(s.partSize), 16<<20) }

// reader classifies errors that happen mid-stream (a connection cut).
type reader struct {
	obj *minio.Object
	key string
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.obj.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("s3: read %s: %w", r.key, classify(err))
	}
	return n, err
}

func (r *reader) Close() error { return r.obj.Close() }

// Stat implements storage.Store; SHA256 is the store's own checksum claim,
// where it has one for the object.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	k, err := s.key(key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, k, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("s3: stat %s: %w", key, classify(err))
	}
	return s.info(key, oi), nil
}

func (s *Store) info(key string, oi minio.ObjectInfo) storage.ObjectInfo {
	out := storage.ObjectInfo{Key: key, Size: oi.Size, Modified: oi.LastModified}
	if raw, err := base64.StdEncoding.DecodeString(oi.ChecksumSHA256); err == nil && len(raw) == 32 {
		out.SHA256 = hex.EncodeToString(raw)
	}
	return out
}

// List implements storage.Store.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
			if oi.Err != nil {
				yield(storage.ObjectInfo{}, fmt.Errorf("s3: list %s: %w", prefix, classify(oi.Err)))
				return
			}
			key := strings.TrimPrefix(oi.Key, s.prefix)
			if strings.HasPrefix(key, ".strongroom-") {
				continue
			}
			if !yield(s.info(key, oi), nil) {
				return
			}
		}
	}
}

// Delete implements storage.Store. On a versioned bucket this adds a delete
// marker; Object Lock keeps the locked versions.
func (s *Store) Delete(ctx context.Context, key string) error {
	k, err := s.key(key)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, k, minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(classify(err), storage.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("s3: delete %s: %w", key, classify(err))
	}
	return nil
}

// Error codes the S3 API uses, by what strongroom does about them.
var (
	notFoundCodes = map[string]bool{"NoSuchKey": true, "NotFound": true, "NoSuchVersion": true}
	checksumCodes = map[string]bool{"BadDigest": true, "XAmzContentSHA256Mismatch": true, "InvalidDigest": true,
		"XAmzContentChecksumMismatch": true, "InvalidChecksum": true}
	transientCodes = map[string]bool{"SlowDown": true, "RequestTimeout": true,
		"InternalError": true, "ServiceUnavailable": true, "XMinioServerNotInitialized": true, "OperationTimedOut": true}
)

// classify maps an error to storage.ErrNotFound, ErrChecksum or
// ErrTransient (retried by the pipeline for as long as it takes), or leaves
// it permanent (403, NoSuchBucket: a person must act). The text of S3 errors
// carries no credentials.
func classify(err error) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case notFoundCodes[resp.Code]:
		return fmt.Errorf("%w: %s", storage.ErrNotFound, resp.Message)
	case checksumCodes[resp.Code]:
		return fmt.Errorf("%w: %s: %s", storage.ErrChecksum, resp.Code, resp.Message)
	case transientCodes[resp.Code] || resp.StatusCode >= 500:
		return fmt.Errorf("%w: %s (HTTP %d): %s", storage.ErrTransient, resp.Code, resp.StatusCode, resp.Message)
	case resp.Code == "AccessDenied" || resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch":
		return fmt.Errorf("%s: check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the credentials file) and the bucket policy: %s", resp.Code, resp.Message)
	case resp.Code == "NoSuchBucket":
		return fmt.Errorf("NoSuchBucket: %s", resp.Message)
	case resp.Code != "":
		return fmt.Errorf("%s: %s", resp.Code, resp.Message)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, http.ErrHandlerTimeout) {
		return fmt.Errorf("%w: %v", storage.ErrTransient, err)
	}
	return err
}
