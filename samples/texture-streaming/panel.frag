// The streaming sample's panel: whatever the streamer shows for it (its resident mips, or the placeholder), opaque.
#version 450

layout(binding = 0) uniform sampler2D panel;

layout(location = 0) in vec2 vTexCoord;

layout(location = 0) out vec4 outColor;

void main() {
    outColor = vec4(texture(panel, vTexCoord).rgb, 1.0);
}
