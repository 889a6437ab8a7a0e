package demo_test

import (
	"testing"

	"crossdock/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }
