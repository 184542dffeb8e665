package app

import (
	"context"
	"os"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/store"
)

// registerGauges adds to m.Metrics what is read at scrape time: the data
// file's size, the search index, running jobs, backups and tenants.
func (m *Main) registerGauges(db *store.DB) {
	mx := m.Metrics
	mx.DataFile(func() (int64, error) {
		fi, err := os.Stat(db.Path())
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	})
	mx.Index(m.Index.IndexState, m.Index.Pending)
	mx.ActiveJobs(m.Ingestor.Active)
	mx.Tenants(func(ctx context.Context) (int, error) {
		tenants, err := db.ListTenants(ctx)
		return len(tenants), err
	})
	mx.Backups(func(ctx context.Context) (pmassist.BackupStatus, error) {
		if m.Operations == nil {
			return pmassist.BackupStatus{}, nil
		}
		return m.Operations.BackupStatus(ctx)
	})
}
