package mem_test

import (
	"testing"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return mem.New() })
}
