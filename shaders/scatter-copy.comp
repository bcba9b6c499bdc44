// The scatter of an upload batch's small staging copies (engine/resources/scatter-copies.ts,
// native/scatter_copy.cpp): workgroup N copies row N of the table whose device address is pushed. A row is the
// source and destination device addresses and the size in bytes, all multiples of 4 (the recording takes no other
// copy); 16-byte aligned ones go by uvec4. The rows of one dispatch write disjoint bytes: a batch's phase.
#version 460
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference_uvec2 : require

layout(local_size_x = 64) in;

struct Copy {
  uvec2 src;
  uvec2 dst;
  uint size;
  uint pad0;
  uint pad1;
  uint pad2;
};
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Table { Copy copies[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Src16 { uvec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) writeonly buffer Dst16 { uvec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer Src4 { uint w[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) writeonly buffer Dst4 { uint w[]; };

layout(push_constant) uniform Push { uvec2 table; } pc;

void main() {
  Copy c = Table(pc.table).copies[gl_WorkGroupID.x];
  uint lane = gl_LocalInvocationID.x;
  if (((c.src.x | c.dst.x | c.size) & 15u) == 0u) {
    Src16 s = Src16(c.src);
    Dst16 d = Dst16(c.dst);
    for (uint i = lane; i < c.size / 16u; i += 64u) d.v[i] = s.v[i];
  } else {
    Src4 s = Src4(c.src);
    Dst4 d = Dst4(c.dst);
    for (uint i = lane; i < c.size / 4u; i += 64u) d.w[i] = s.w[i];
  }
}
