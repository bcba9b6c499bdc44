// The VMA sample's vertex shader: one model-view-projection matrix as a push constant (no uniform buffer),
// position / colour / texture coordinate per vertex.
#version 450

layout(push_constant) uniform PushConstants {
    mat4 modelViewProjection;
} pc;

layout(location = 0) in vec3 inPosition;
layout(location = 1) in vec3 inColor;
layout(location = 2) in vec2 inTexCoord;

layout(location = 0) out vec3 vColor;
layout(location = 1) out vec2 vTexCoord;

void main() {
    gl_Position = pc.modelViewProjection * vec4(inPosition, 1.0);
    vColor = inColor;
    vTexCoord = inTexCoord;
}
