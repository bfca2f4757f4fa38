package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/strongroom-archive/strongroom/storage"
	_ "github.com/strongroom-archive/strongroom/storage/s3" // s3:// stores
	"github.com/strongroom-archive/strongroom/storage/s3/s3test"
	"github.com/strongroom-archive/strongroom/storage/storetest"
)

func cfg(srv *s3test.Server, bucket string) storage.Config {
	no := false
	return storage.Config{URL: s3test.URL(bucket), S3: storage.S3Config{Endpoint: srv.Endpoint, Region: "us-east-1", Secure: &no, PathStyle: true}}
}

func open(t *testing.T, c storage.Config) storage.Store {
	t.Helper()
	st, err := storage.Open(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSuiteMinIO(t *testing.T) {
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	bucket := srv.Bucket(false)
	storetest.Run(t, func(t *testing.T) storage.Store { return open(t, cfg(srv, bucket)) })
}

// TestSuiteVersity runs the same suite on a second, independent S3
// implementation, to keep "S3-compatible" honest.
func TestSuiteVersity(t *testing.T) {
	srv := s3test.Start(t, "versitygw")
	srv.Env(t)
	bucket := srv.Bucket(false)
	storetest.Run(t, func(t *testing.T) storage.Store { return open(t, cfg(srv, bucket)) })
}

func sha(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func TestChecksums(t *testing.T) {
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	c := cfg(srv, srv.Bucket(false))
	c.S3.PartSize = 5 << 20
	st := open(t, c)
	ctx := context.Background()

	// A single PUT carries our SHA-256; the store keeps it as its checksum.
	small := bytes.Repeat([]byte("a"), 1000)
	if err := st.Put(ctx, "b/small", bytes.NewReader(small), int64(len(small)), storage.PutOptions{SHA256: sha(small), Metadata: map[string]string{"bag": "b"}}); err != nil {
		t.Fatal(err)
	}
	oi, err := st.Stat(ctx, "b/small")
	if err != nil || oi.SHA256 != sha(small) {
		t.Fatalf("stat: %+v %v", oi, err)
	}
	// The metadata names the bag and the digest.
	u, _ := url.Parse(c.URL)
	mo, err := srv.Client().StatObject(ctx, u.Host, strings.TrimPrefix(u.Path, "/")+"/b/small", minio.StatObjectOptions{})
	if err != nil || mo.UserMetadata["Bag"] != "b" || mo.UserMetadata["Sha256"] != sha(small) {
		t.Errorf("object metadata: %v %v", mo.UserMetadata, err)
	}

	// A multipart upload carries a full-object CRC64NVME; a
	// stream whose bytes don't match the expected SHA-256 is refused.
	// 40 MiB: 8 parts, and 8 ranges to read (more than are fetched ahead).
	big := bytes.Repeat([]byte("0123456789abcdef"), (40<<20)/16)
	if err := st.Put(ctx, "b/big", bytes.NewReader(big), int64(len(big)), storage.PutOptions{SHA256: sha(big)}); err != nil {
		t.Fatal(err)
	}
	mo, err = srv.Client().StatObject(ctx, u.Host, strings.TrimPrefix(u.Path, "/")+"/b/big", minio.StatObjectOptions{Checksum: true})
	if err != nil || mo.ChecksumCRC64NVME == "" {
		t.Errorf("multipart object has no full-object CRC64NVME: %+v %v", mo, err)
	}
	if got := readAll(t, st, "b/big"); sha(got) != sha(big) {
		t.Error("multipart object reads back wrong")
	}
	err = st.Put(ctx, "b/big2", bytes.NewReader(big), int64(len(big)), storage.PutOptions{SHA256: sha(small)})
	if !errors.Is(err, storage.ErrChecksum) {
		t.Errorf("multipart with a wrong sha256: %v", err)
	}
	if _, err := st.Stat(ctx, "b/big2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("refused multipart upload left an object: %v", err)
	}
	// A file the caller reads back goes up in parallel parts, and is read
	// in parallel ranges, in order.
	f, err := os.CreateTemp(t.TempDir(), "big")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(big); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "b/file", f, int64(len(big)), storage.PutOptions{SHA256: sha(big), ReadBack: true}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, st, "b/file"); sha(got) != sha(big) {
		t.Error("an object uploaded in parallel parts reads back wrong")
	}
	// An object replaced while it is read in ranges fails the read: the
	// ranges ask for the version the read began with.
	rc, err := st.Get(ctx, "b/file")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte("x"), len(big))
	if err := st.Put(ctx, "b/file", bytes.NewReader(other), int64(len(other)), storage.PutOptions{SHA256: sha(other)}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); err == nil || !strings.Contains(err.Error(), "PreconditionFailed") {
		t.Errorf("an object replaced during a ranged read: %v, want PreconditionFailed", err)
	}
	rc.Close()
	// Unknown size (a stream) goes multipart with bounded buffers.
	if err := st.Put(ctx, "b/stream", io.MultiReader(bytes.NewReader(big), bytes.NewReader(small)), -1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, st storage.Store, key string) []byte {
	t.Helper()
	rc, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return got
}

func TestObjectLock(t *testing.T) {
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	ctx := context.Background()

	// Retention asked for on a bucket without Object Lock: refused at start.
	c := cfg(srv, srv.Bucket(false))
	c.S3.Lock = storage.S3Lock{Mode: "compliance", RetainFor: 3600e9}
	if _, err := storage.Open(ctx, c); err == nil || !strings.Contains(err.Error(), "Object Lock") {
		t.Fatalf("lock on an unlocked bucket: %v", err)
	}

	bucket := srv.Bucket(true)
	c = cfg(srv, bucket)
	c.S3.Lock = storage.S3Lock{Mode: "compliance", RetainFor: 3600e9, LegalHold: true}
	st := open(t, c)
	body := []byte("the only copy")
	if err := st.Put(ctx, "bag/data/page.tif", bytes.NewReader(body), int64(len(body)), storage.PutOptions{SHA256: sha(body)}); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(c.URL)
	key := strings.TrimPrefix(u.Path, "/") + "/bag/data/page.tif"
	admin := srv.Client()
	oi, err := admin.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Deleting the version is refused, even for the root user and with
	// governance bypass: compliance mode.
	err = admin.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: oi.VersionID, GovernanceBypass: true})
	if err == nil {
		t.Fatal("a locked version was deleted")
	}
	// Overwriting makes a new version; the locked one stays readable.
	if err := st.Put(ctx, "bag/data/page.tif", strings.NewReader("tampered"), 8, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := admin.GetObject(ctx, bucket, key, minio.GetObjectOptions{VersionID: oi.VersionID})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("locked version after an overwrite: %q %v", got, err)
	}
	mode, _, err := admin.GetObjectRetention(ctx, bucket, key, oi.VersionID)
	if err != nil || mode == nil || *mode != minio.Compliance {
		t.Errorf("retention: %v %v", mode, err)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	srv := s3test.Start(t, "minio")
	srv.Env(t)
	ctx := context.Background()
	bucket := srv.Bucket(false)

	c := cfg(srv, "no-such-bucket-here")
	if _, err := storage.Open(ctx, c); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing bucket: %v", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
	_, err := storage.Open(ctx, cfg(srv, bucket))
	if err == nil || errors.Is(err, storage.ErrTransient) || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("wrong secret: %v", err)
	}
	if err != nil && (strings.Contains(err.Error(), "wrong-secret-value") || strings.Contains(err.Error(), srv.SecretKey)) {
		t.Errorf("a secret leaked into an error: %v", err)
	}
	srv.Env(t)
	st := open(t, cfg(srv, bucket))
	srv.Stop()
	err = st.Put(ctx, "k", strings.NewReader("x"), 1, storage.PutOptions{})
	if !errors.Is(err, storage.ErrTransient) {
		t.Errorf("store down: %v, want transient", err)
	}
	srv.Start()
	if err := st.Put(ctx, "k", strings.NewReader("x"), 1, storage.PutOptions{}); err != nil {
		t.Errorf("after restart: %v", err)
	}
}
