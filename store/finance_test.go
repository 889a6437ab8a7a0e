package store_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
)

func TestThresholdsValidateSaysWhatIsWrong(t *testing.T) {
	t.Parallel()
	require.Nil(t, store.Thresholds{Critical: 0, High: 10, Medium: 10}.Validate())
	cases := map[store.Thresholds]string{
		{Critical: 50, High: 40, Medium: 60}:        "the critical threshold (50 %) cannot be above the low one (40 %)",
		{Critical: 5, High: 40, Medium: 30}:         "the low threshold (40 %) cannot be above the below-target one (30 %)",
		{Critical: -150, High: 10, Medium: 20}:      "The critical threshold must be a percent between -100 and 100; -150 is not.",
		{Critical: 5, High: 10, Medium: 120}:        "The below target threshold must be a percent between -100 and 100",
		{Critical: 5, High: math.NaN(), Medium: 20}: "The low threshold must be a percent",
	}
	for in, want := range cases {
		fe := in.Validate()
		require.NotNil(t, fe, "%+v", in)
		require.Contains(t, fe["thresholds"], want)
	}
}
