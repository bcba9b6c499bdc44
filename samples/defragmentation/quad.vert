// The defragmentation sample's quad: its own mesh from its own vertex buffer (position in the cell, texture
// coordinates), placed in its cell of the screen by one matrix in the push constants.
#version 450

layout(push_constant) uniform PushConstants {
    mat4 cellToClip;
} pc;

layout(location = 0) in vec2 inPosition;
layout(location = 1) in vec2 inTexCoord;

layout(location = 0) out vec2 vTexCoord;

void main() {
    vTexCoord = inTexCoord;
    gl_Position = pc.cellToClip * vec4(inPosition, 0.0, 1.0);
}
