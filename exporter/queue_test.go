package exporter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// TestQueueBatchesAreBoundedByRequestLimits: a batch never holds more events
// than max_batch_events (sizer items) or more JSON than max_batch_bytes
// (sizer bytes), whatever sending_queue.batch.max_size says.
func TestQueueBatchesAreBoundedByRequestLimits(t *testing.T) {
	cases := []struct {
		sizer            exporterhelper.RequestSizerType
		minSize, maxSize int64
		wantMin, wantMax int64
	}{
		{exporterhelper.RequestSizerTypeItems, 1000, 0, 500, 500},
		{exporterhelper.RequestSizerTypeItems, 100, 2000, 100, 500},
		{exporterhelper.RequestSizerTypeItems, 100, 200, 100, 200},
		{exporterhelper.RequestSizerTypeBytes, 0, 0, 0, 1 << 20},
		{exporterhelper.RequestSizerTypeBytes, 1000, 1 << 30, 1000, 1 << 20},
	}
	for _, c := range cases {
		q := exporterhelper.NewDefaultQueueConfig()
		b := q.Batch.GetOrInsertDefault()
		b.Sizer, b.MinSize, b.MaxSize = c.sizer, c.minSize, c.maxSize
		cfg := &Config{QueueConfig: configoptional.Some(q), MaxBatchEvents: 500, MaxBatchBytes: 1 << 20}
		got := queueConfig(cfg)
		gb := got.Get().Batch.Get()
		assert.Equal(t, c.wantMax, gb.MaxSize, "%v max_size %d", c.sizer, c.maxSize)
		assert.Equal(t, c.wantMin, gb.MinSize, "%v min_size %d", c.sizer, c.minSize)
		assert.Equal(t, c.maxSize, cfg.QueueConfig.Get().Batch.Get().MaxSize, "the user's config is not changed")
	}
	none := queueConfig(&Config{MaxBatchEvents: 500})
	assert.False(t, none.HasValue(), "no queue stays no queue")
}
