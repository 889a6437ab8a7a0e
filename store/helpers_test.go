package store_test

import "time"

func timeNowPlusHour() time.Time { return time.Now().Add(time.Hour) }
