package s3

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/strongroom-archive/strongroom/storage"
)

// versions lists every version of key, delete markers too (one entry, the
// object itself, on a bucket without versioning).
func (s *Store) versions(ctx context.Context, k string) ([]minio.ObjectInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out []minio.ObjectInfo
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: k, WithVersions: true}) {
		if oi.Err != nil {
			return nil, classify(oi.Err)
		}
		if oi.Key == k {
			out = append(out, oi)
		}
	}
	return out, nil
}

// Lock describes what holds the versions of key back from deletion: the
// latest retain-until of any version, its mode, and whether any version
// is under a legal hold.
func (s *Store) Lock(ctx context.Context, key string) (storage.Lock, error) {
	var l storage.Lock
	k, err := s.key(key)
	if err != nil {
		return l, err
	}
	vs, err := s.versions(ctx, k)
	if err != nil {
		return l, fmt.Errorf("s3: lock of %s: %w", key, err)
	}
	if !s.Locks(ctx) {
		return l, nil // nothing on this bucket can be locked
	}
	for _, v := range vs {
		if v.IsDeleteMarker {
			continue
		}
		mode, until, err := s.client.GetObjectRetention(ctx, s.bucket, k, v.VersionID)
		if err == nil && mode != nil && until != nil && until.After(l.Until) {
			l.Until, l.Mode = *until, strings.ToLower(string(*mode)) // as storage.s3.lock.mode writes it
		}
		hold, err := s.client.GetObjectLegalHold(ctx, s.bucket, k, minio.GetObjectLegalHoldOptions{VersionID: v.VersionID})
		if err == nil && hold != nil && *hold == minio.LegalHoldEnabled {
			l.LegalHold = true
		}
	}
	return l, nil
}

// Purge deletes every version of key and its delete markers, and returns
// the version ids. Governance-mode locks are bypassed (an approved
// disposal is the authority that mode asks for); a compliance lock or a
// legal hold refuses, as the store means it to.
func (s *Store) Purge(ctx context.Context, key string) ([]string, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, err
	}
	vs, err := s.versions(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("s3: purge %s: %w", key, err)
	}
	var ids []string
	for _, v := range vs {
		err := s.client.RemoveObject(ctx, s.bucket, k, minio.RemoveObjectOptions{VersionID: v.VersionID, GovernanceBypass: true})
		if err != nil {
			return ids, fmt.Errorf("s3: delete %s version %s: %w", key, v.VersionID, classify(err))
		}
		if v.VersionID != "" && v.VersionID != "null" {
			ids = append(ids, v.VersionID)
		}
	}
	return ids, nil
}

// SetLegalHold puts S3 legal hold on every version of key, or lifts it.
func (s *Store) SetLegalHold(ctx context.Context, key string, on bool) error {
	k, err := s.key(key)
	if err != nil {
		return err
	}
	vs, err := s.versions(ctx, k)
	if err != nil {
		return fmt.Errorf("s3: legal hold on %s: %w", key, err)
	}
	status := minio.LegalHoldDisabled
	if on {
		status = minio.LegalHoldEnabled
	}
	for _, v := range vs {
		if v.IsDeleteMarker {
			continue
		}
		if err := s.client.PutObjectLegalHold(ctx, s.bucket, k, minio.PutObjectLegalHoldOptions{VersionID: v.VersionID, Status: &status}); err != nil {
			return fmt.Errorf("s3: legal hold on %s version %s: %w", key, v.VersionID, classify(err))
		}
	}
	return nil
}

// Locks reports whether the bucket can lock objects (Object Lock on).
func (s *Store) Locks(ctx context.Context) bool {
	if s.locks.Load() {
		return true
	}
	enabled, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
	ok := err == nil && enabled == "Enabled"
	if ok {
		s.locks.Store(true)
	}
	return ok
}

// ExtendLock moves the retain-until of every version of key to until
// where it is earlier, in the configured mode. It never shortens a lock
// (compliance cannot be shortened, and governance is not shortened by
// strongroom); on a store configured without a lock mode it does nothing.
func (s *Store) ExtendLock(ctx context.Context, key string, until time.Time) error {
	if s.cfg.Lock.Mode == "" {
		return nil
	}
	k, err := s.key(key)
	if err != nil {
		return err
	}
	vs, err := s.versions(ctx, k)
	if err != nil {
		return fmt.Errorf("s3: extend lock of %s: %w", key, err)
	}
	mode := minio.Governance
	if s.cfg.Lock.Mode == "compliance" {
		mode = minio.Compliance
	}
	until = until.UTC()
	for _, v := range vs {
		if v.IsDeleteMarker {
			continue
		}
		if _, cur, err := s.client.GetObjectRetention(ctx, s.bucket, k, v.VersionID); err == nil && cur != nil && !cur.Before(until) {
			continue
		}
		if err := s.client.PutObjectRetention(ctx, s.bucket, k, minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &until, VersionID: v.VersionID}); err != nil {
			return fmt.Errorf("s3: extend lock of %s version %s: %w", key, v.VersionID, classify(err))
		}
	}
	return nil
}
