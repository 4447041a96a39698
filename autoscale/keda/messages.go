package keda

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The messages of KEDA's externalscaler.proto (package externalscaler),
// encoded by hand with protowire: no protoc runs where Strata builds, and
// the wire format is all a peer with generated code sees. Field numbers
// are the proto's.

// ScaledObjectRef names the ScaledObject asking; ScalerMetadata is its
// trigger's metadata (Strata reads "pool").
type ScaledObjectRef struct {
	Name           string
	Namespace      string
	ScalerMetadata map[string]string
}

// IsActiveResponse says whether the workload should run at all.
type IsActiveResponse struct{ Result bool }

// MetricSpec is one metric and its per-replica target.
type MetricSpec struct {
	MetricName      string
	TargetSize      int64
	TargetSizeFloat float64
}

// GetMetricSpecResponse lists the metrics a ScaledObject scales on.
type GetMetricSpecResponse struct{ MetricSpecs []MetricSpec }

// GetMetricsRequest asks for one metric's value.
type GetMetricsRequest struct {
	ScaledObjectRef ScaledObjectRef
	MetricName      string
}

// MetricValue is one metric's value now.
type MetricValue struct {
	MetricName       string
	MetricValue      int64
	MetricValueFloat float64
}

// GetMetricsResponse carries the values asked for.
type GetMetricsResponse struct{ MetricValues []MetricValue }

// message is what the codec encodes.
type message interface {
	marshal(b []byte) []byte
	unmarshal(b []byte) error
}

var (
	_ message = (*ScaledObjectRef)(nil)
	_ message = (*IsActiveResponse)(nil)
	_ message = (*GetMetricSpecResponse)(nil)
	_ message = (*GetMetricsRequest)(nil)
	_ message = (*GetMetricsResponse)(nil)
)

var errWire = errors.New("keda: malformed message")

// fields walks b's fields, handing each to f with its number, type and
// the value's bytes (a varint's or fixed64's raw bytes are decoded by f).
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", errWire, protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var u uint64
		switch typ {
		case protowire.VarintType:
			u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			u, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("%w: %w", errWire, protowire.ParseError(n))
		}
		b = b[n:]
		if err := f(num, typ, v, u); err != nil {
			return err
		}
	}
	return nil
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendInt(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendDouble(b []byte, num protowire.Number, v float64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, mathFloat64bits(v))
}

func appendMessage(b []byte, num protowire.Number, m message) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m.marshal(nil))
}

func (m *ScaledObjectRef) marshal(b []byte) []byte {
	b = appendString(b, 1, m.Name)
	b = appendString(b, 2, m.Namespace)
	for _, k := range sortedKeys(m.ScalerMetadata) {
		var e []byte
		e = appendString(e, 1, k)
		e = appendString(e, 2, m.ScalerMetadata[k])
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	return b
}

func (m *ScaledObjectRef) unmarshal(b []byte) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			m.Name = string(v)
		case num == 2 && typ == protowire.BytesType:
			m.Namespace = string(v)
		case num == 3 && typ == protowire.BytesType:
			var k, val string
			if err := fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if typ == protowire.BytesType && num == 1 {
					k = string(v)
				} else if typ == protowire.BytesType && num == 2 {
					val = string(v)
				}
				return nil
			}); err != nil {
				return err
			}
			if m.ScalerMetadata == nil {
				m.ScalerMetadata = map[string]string{}
			}
			m.ScalerMetadata[k] = val
		}
		return nil
	})
}

func (m *IsActiveResponse) marshal(b []byte) []byte {
	if m.Result {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	return b
}

func (m *IsActiveResponse) unmarshal(b []byte) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, _ []byte, u uint64) error {
		if num == 1 && typ == protowire.VarintType {
			m.Result = u != 0
		}
		return nil
	})
}

func (m *MetricSpec) marshal(b []byte) []byte {
	b = appendString(b, 1, m.MetricName)
	b = appendInt(b, 2, m.TargetSize)
	return appendDouble(b, 3, m.TargetSizeFloat)
}

func (m *MetricSpec) unmarshal(b []byte) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			m.MetricName = string(v)
		case num == 2 && typ == protowire.VarintType:
			m.TargetSize = int64(u)
		case num == 3 && typ == protowire.Fixed64Type:
			m.TargetSizeFloat = mathFloat64frombits(u)
		}
		return nil
	})
}

func (m *GetMetricSpecResponse) marshal(b []byte) []byte {
	for i := range m.MetricSpecs {
		b = appendMessage(b, 1, &m.MetricSpecs[i])
	}
	return b
}

func (m *GetMetricSpecResponse) unmarshal(b []byte) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num == 1 && typ == protowire.BytesType {
			var s MetricSpec
			if err := s.unmarshal(v); err != nil {
				return err
			}
			m.MetricSpecs = append(m.MetricSpecs, s)
		}
		return nil
	})
}

func (m *GetMetricsRequest) marshal(b []byte) []byte {
	b = appendMessage(b, 1, &m.ScaledObjectRef)
	return appendString(b, 2, m.MetricName)
}

func (m *GetMetricsRequest) unmarshal(b []byte) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			return m.ScaledObjectRef.unmarshal(v)
		case num == 2 && typ == protowire.BytesType:
			m.MetricName = string(v)
		}
		return nil
	})
}

func (m *MetricValue) marshal(b []byte) []byte {
	b = appendString(b, 1, m.MetricName)
	b = appendInt(b, 2, m.MetricValue)
	return appendDouble(b, 3, m.MetricValueFloat)
}

func (m *MetricValue) unmarshal(b []byte) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			m.MetricName = string(v)
		case num == 2 && typ == protowire.VarintType:
			m.MetricValue = int64(u)
		case num == 3 && typ == protowire.Fixed64Type:
			m.MetricValueFloat = mathFloat64frombits(u)
		}
		return nil
	})
}

func (m *GetMetricsResponse) marshal(b []byte) []byte {
	for i := range m.MetricValues {
		b = appendMessage(b, 1, &m.MetricValues[i])
	}
	return b
}

func (m *GetMetricsResponse) unmarshal(b []byte) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num == 1 && typ == protowire.BytesType {
			var s MetricValue
			if err := s.unmarshal(v); err != nil {
				return err
			}
			m.MetricValues = append(m.MetricValues, s)
		}
		return nil
	})
}
