package placement

import "math"

// picker keeps the best candidate seen so far. Candidates are ranked by RTT
// bucket (ascending), then within-bucket score (descending), then ID rank
// (ascending), which makes the result independent of node order.
//
// It also prunes: once a best exists, a node on the geographic model whose
// dot product with the requester is below pruneDot is provably in a worse
// bucket, so its acos is never computed. The threshold is conservative (an
// epsilon below the exact boundary), so pruning never changes the result.
type picker struct {
	o        *origin
	best     int
	bucket   int
	within   float64
	rank     int32
	pruneDot float64
}

func newPicker(o *origin) picker {
	return picker{o: o, best: -1, pruneDot: -2}
}

// bucketFor returns the node's bucket after subtracting bonusMs, or false
// when the node cannot beat the current best whatever its within score.
func (pk *picker) bucketFor(np *nodePrep, bonusMs float64) (int, float64, RTTSource, bool) {
	if pk.best >= 0 && bonusMs == 0 && pk.o.useGeo(np) &&
		pk.o.x*np.x+pk.o.y*np.y+pk.o.z*np.z < pk.pruneDot {
		return 0, 0, 0, false
	}
	ms, src := pk.o.rtt(np)
	b := bucketOf(ms - bonusMs)
	if pk.best >= 0 && b > pk.bucket {
		return 0, 0, 0, false
	}
	return b, ms, src, true
}

// consider offers node i with its bucket and within score.
func (pk *picker) consider(i int, np *nodePrep, bucket int, within float64) {
	if pk.best >= 0 {
		if bucket != pk.bucket {
			if bucket > pk.bucket {
				return
			}
		} else if within != pk.within {
			if within < pk.within {
				return
			}
		} else if np.rank > pk.rank {
			return
		}
	}
	newBucket := pk.best < 0 || bucket != pk.bucket
	pk.best, pk.bucket, pk.within, pk.rank = i, bucket, within, np.rank
	if newBucket {
		pk.pruneDot = pruneDotFor(bucket)
	}
}

// pruneDotFor returns the dot product below which a geographic RTT is at
// least (bucket+1)·RTTBucketMs, i.e. in a worse bucket.
func pruneDotFor(bucket int) float64 {
	theta := (float64(bucket+1)*RTTBucketMs - BaseRTTMs) / rttPerRadian
	if theta <= 0 || theta >= math.Pi {
		return -2
	}
	return math.Cos(theta) - 1e-9
}
