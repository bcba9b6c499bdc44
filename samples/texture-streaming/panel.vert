// The streaming sample's panel: a unit quad made from gl_VertexIndex (a 4-vertex triangle strip, no vertex buffer),
// placed by one model-view-projection matrix in the push constants.
#version 450

layout(push_constant) uniform PushConstants {
    mat4 modelViewProjection;
} pc;

layout(location = 0) out vec2 vTexCoord;

void main() {
    vec2 corner = vec2(gl_VertexIndex & 1, gl_VertexIndex >> 1);
    vTexCoord = vec2(corner.x, 1.0 - corner.y);
    gl_Position = pc.modelViewProjection * vec4(corner - 0.5, 0.0, 1.0);
}
