// Package gpu discovers the GPUs and the NIC capacity of an edge node.
//
// Discovery is driven by a spec string so that the same binary runs on GPU
// hosts, on CPU-only hosts and in tests:
//
//	auto        query nvidia-smi (see QueryFields) and parse its CSV output
//	none        no GPUs
//	fake:SPEC   synthetic GPUs, for development clusters and tests
//
// The fake grammar is a comma-separated list of groups:
//
//	SPEC  = GROUP { "," GROUP }
//	GROUP = COUNT "x" MODEL ":" MEM "GB"
//	COUNT = decimal integer, 1..64 (at most 64 GPUs in total)
//	MODEL = 1..32 characters of [A-Za-z0-9._-]
//	MEM   = decimal integer, 1..4096 (gibibytes; stored as MiB)
//
// For example "fake:4xH200:141GB" or "fake:2xA10G:24GB,1xL4:24GB". Fake GPUs
// are numbered in spec order and report zero load.
//
// nvidia-smi reports unavailable values as "[N/A]" or "[Not Supported]";
// every numeric field that is not reported is -1 in GPU, so a consumer can
// tell "idle" (0) from "unknown" (-1).
package gpu
