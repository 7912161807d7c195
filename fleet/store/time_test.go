package store

import (
	"testing"
	"time"

	"github.com/ktriage/ktriage/oops"
)

func TestEventTime(t *testing.T) {
	recv := time.Date(2026, 1, 3, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		wall string
		want time.Time
	}{
		{"", recv},
		{"garbage", recv},
		{"Jan  2 09:00:00", time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)},
		// December's clock received in January is last year's.
		{"Dec 30 23:00:00", time.Date(2025, 12, 30, 23, 0, 0, 0, time.UTC)},
		// A yearless clock months old: its year is unknown, the receipt stands.
		{"Sep 23 03:12:44", recv},
		// A clock with its year is believed, however old.
		{"2015-09-23T03:12:44+00:00", time.Date(2015, 9, 23, 3, 12, 44, 0, time.UTC)},
		// Not in the future.
		{"2027-09-23T03:12:44+00:00", recv},
	} {
		got := eventTime(&oops.Report{Wall: tc.wall}, recv)
		if !got.Equal(tc.want) {
			t.Errorf("eventTime(%q) = %v, want %v", tc.wall, got, tc.want)
		}
	}
}
